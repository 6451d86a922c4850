// The SQLite error category: extended result codes as boost::system error codes, so callers
// classify failures (disk full, corrupt) without seeing SQLite.
#include "store/errors.hpp"

#include <sqlite3.h>

#include <string>

namespace store {
namespace {

class sqlite_error_category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int rc) const override { return sqlite3_errstr(rc); }
};

}  // namespace

const boost::system::error_category& sqlite_category() noexcept {
  static const sqlite_error_category category;
  return category;
}

bool is_disk_full(const boost::system::error_code& ec) noexcept {
  return ec.category() == sqlite_category() && (ec.value() & 0xff) == SQLITE_FULL;
}

bool is_corrupt(const boost::system::error_code& ec) noexcept {
  if (ec.category() != sqlite_category()) return false;
  const int primary = ec.value() & 0xff;
  return primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB;
}

}  // namespace store

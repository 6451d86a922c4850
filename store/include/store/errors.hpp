// Store errors as values: SQLite result codes in their own error category, so the daemon can
// tell "disk full" (answer 503, retry later) from "corrupt" (refuse to start) in one place.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace store {

// The category of SQLite's extended result codes; message() is sqlite3_errstr().
const boost::system::error_category& sqlite_category() noexcept;

inline boost::system::error_code make_sqlite_error(int rc) noexcept {
  return {rc, sqlite_category()};
}

// True for SQLITE_FULL (disk or quota full): transient, answer 503.
bool is_disk_full(const boost::system::error_code& ec) noexcept;
// True for SQLITE_CORRUPT / SQLITE_NOTADB: the file is not a usable shopseg database.
bool is_corrupt(const boost::system::error_code& ec) noexcept;

template <class T>
using result = boost::system::result<T>;

}  // namespace store

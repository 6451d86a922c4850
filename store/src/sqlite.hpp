// Small RAII wrappers over the SQLite C API: a connection that caches its prepared statements,
// and a `query` that binds, steps and resets one use of a cached statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/errors.hpp"
#include "store/records.hpp"

// Propagates the error of a result-returning expression.
#define STORE_TRY(expr)                                 \
  do {                                                  \
    if (auto store_try_ = (expr); !store_try_) {        \
      return {::boost::system::in_place_error, store_try_.error()}; \
    }                                                   \
  } while (0)

namespace store::detail {

// How long a connection waits for another's lock before SQLITE_BUSY.
constexpr int busy_timeout_ms = 5000;

class connection {
 public:
  // Opens `path` with sqlite3_open_v2 `flags`, extended result codes and a busy timeout, through
  // the VFS named `vfs` (nullptr: the default).
  static result<std::unique_ptr<connection>> open(const std::string& path, int flags,
                                                  const char* vfs = nullptr);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  sqlite3* handle() const noexcept { return db_; }
  // Runs SQL text that returns no rows the caller needs (pragmas, DDL, BEGIN/COMMIT).
  result<void> exec(const char* sql) noexcept;
  // The prepared statement for `sql`, prepared on first use. REQUIRES: `sql` is a string
  // literal (statements are cached by the literal's address).
  result<sqlite3_stmt*> prepare(const char* sql) noexcept;
  // The first column of the first row of `sql` as an integer (for pragmas).
  result<std::int64_t> scalar(const char* sql) noexcept;
  std::int64_t changes() const noexcept { return sqlite3_changes64(db_); }
  // EXPLAIN QUERY PLAN of every cached statement, one entry per statement.
  std::vector<statement_plan> query_plans();
  std::int64_t last_insert_rowid() const noexcept { return sqlite3_last_insert_rowid(db_); }

 private:
  explicit connection(sqlite3* db) noexcept : db_(db) {}
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

// One use of a cached statement. Text is bound without copying, so bound strings must outlive
// the query; the destructor resets the statement and clears its bindings, so no statement keeps
// a read open or points at freed text between uses.
class query {
 public:
  explicit query(sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  ~query() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  query(const query&) = delete;
  query& operator=(const query&) = delete;

  query& bind_int(int index, std::int64_t value) noexcept {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
  }
  // Ids are 64-bit unsigned; Shopify's fit in 63 bits, larger ones keep their bit pattern.
  query& bind_id(int index, id_t value) noexcept {
    return bind_int(index, static_cast<std::int64_t>(value));
  }
  query& bind_text(int index, std::string_view value) noexcept {
    sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_STATIC, SQLITE_UTF8);
    return *this;
  }
  // Copies the bytes: they need not outlive the query.
  query& bind_blob_copy(int index, const void* data, std::size_t size) noexcept {
    sqlite3_bind_blob64(stmt_, index, data, size, SQLITE_TRANSIENT);
    return *this;
  }
  query& bind_null(int index) noexcept {
    sqlite3_bind_null(stmt_, index);
    return *this;
  }
  query& bind_opt_int(int index, const std::optional<std::int64_t>& value) noexcept {
    return value ? bind_int(index, *value) : bind_null(index);
  }
  query& bind_opt_text(int index, const std::optional<std::string>& value) noexcept {
    return value ? bind_text(index, *value) : bind_null(index);
  }

  // Steps once: true when a row is available, false when done.
  result<bool> step() noexcept {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return {boost::system::in_place_error, make_sqlite_error(rc)};
  }
  // Steps to the end, turning every row into a Row with `read(*this)`.
  template <class Row, class Read>
  result<std::vector<Row>> rows(Read read) {
    std::vector<Row> out;
    for (;;) {
      auto stepped = step();
      if (!stepped) return stepped.error();
      if (!*stepped) return out;
      out.push_back(read(*this));
    }
  }
  // Steps to completion of a statement that returns no rows.
  result<void> run() noexcept {
    auto stepped = step();
    if (!stepped) return stepped.error();
    return {};
  }

  bool null_at(int col) const noexcept { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::int64_t int_at(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
  id_t id_at(int col) const noexcept { return static_cast<id_t>(int_at(col)); }
  std::string_view text_at(int col) const noexcept {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return text ? std::string_view(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
                : std::string_view();
  }
  std::optional<std::int64_t> opt_int_at(int col) const noexcept {
    if (null_at(col)) return std::nullopt;
    return int_at(col);
  }
  std::optional<std::string> opt_text_at(int col) const {
    if (null_at(col)) return std::nullopt;
    return std::string(text_at(col));
  }

 private:
  sqlite3_stmt* stmt_;
};

// The shopseg schema: migrations run by the writer, checked by readers.
inline constexpr std::int64_t application_id = 0x53485347;  // "SHSG"
// Brings the schema to the current version inside one transaction. Errors: a foreign or newer
// database is SQLITE_NOTADB / SQLITE_CORRUPT (is_corrupt()).
result<void> migrate(connection& db);
// Registers shopseg's SQL functions (shopseg_phone_key) on a connection that writes.
result<void> register_functions(connection& db);
// Checks that the database is empty or shopseg's, of this or an older version, without writing
// to it: a foreign or newer file is SQLITE_NOTADB / SQLITE_CORRUPT.
result<void> check_owner(connection& db);
// Checks that the database is a shopseg database of the current version (for readers).
result<void> check_schema(connection& db);

// Lower-cases ASCII letters (emails and tags compare case-insensitively).
std::string ascii_lower(std::string_view text);

}  // namespace store::detail

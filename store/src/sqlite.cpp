// The connection wrapper: opening, the statement cache and pragma helpers.
#include "sqlite.hpp"

namespace store::detail {

result<std::unique_ptr<connection>> connection::open(const std::string& path, int flags, const char* vfs) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_EXRESCODE, vfs);
  if (rc != SQLITE_OK) {
    sqlite3_close_v2(db);
    return make_sqlite_error(rc);
  }
  std::unique_ptr<connection> conn(new connection(db));
  sqlite3_extended_result_codes(db, 1);
  // A reader may briefly meet the writer's checkpoint; the writer may meet a crashed peer's lock.
  sqlite3_busy_timeout(db, busy_timeout_ms);
  return conn;
}

connection::~connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

result<void> connection::exec(const char* sql) noexcept {
  const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  return {};
}

result<sqlite3_stmt*> connection::prepare(const char* sql) noexcept {
  if (auto found = statements_.find(sql); found != statements_.end()) return found->second;
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  try {
    statements_.emplace(sql, stmt);
  } catch (...) {
    sqlite3_finalize(stmt);
    return make_sqlite_error(SQLITE_NOMEM);
  }
  return stmt;
}

result<std::int64_t> connection::scalar(const char* sql) noexcept {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.error();
  query q(*stmt);
  auto row = q.step();
  if (!row) return row.error();
  return *row ? q.int_at(0) : 0;
}

std::vector<statement_plan> connection::query_plans() {
  std::vector<statement_plan> plans;
  for (const auto& [text, cached] : statements_) {
    statement_plan entry{sqlite3_sql(cached), {}};
    sqlite3_stmt* explain = nullptr;
    const std::string sql = "EXPLAIN QUERY PLAN " + entry.sql;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &explain, nullptr) == SQLITE_OK) {
      while (sqlite3_step(explain) == SQLITE_ROW)
        entry.plan.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(explain, 3)));
    }
    sqlite3_finalize(explain);
    plans.push_back(std::move(entry));
  }
  return plans;
}

std::string ascii_lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return lower;
}

}  // namespace store::detail

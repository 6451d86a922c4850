// The rows a set of queries returns from a store file, as text: two stores compare equal when
// their dumps do.
#pragma once

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <initializer_list>
#include <sstream>
#include <string>

namespace store_test {

// Each query's text, then one line per row with its columns as text ('|' after each, NULL as
// "NULL"). Opens `path` read-only.
inline std::string dump_rows(const std::string& path, std::initializer_list<const char*> queries) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::ostringstream out;
  for (const char* sql : queries) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    out << sql << "\n";
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const auto* text = sqlite3_column_text(s, i);
        out << (text ? reinterpret_cast<const char*>(text) : "NULL") << "|";
      }
      out << "\n";
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out.str();
}

}  // namespace store_test

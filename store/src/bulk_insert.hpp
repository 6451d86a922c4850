// Multi-row INSERT statements for the writer: `rows_per_insert` rows bound to one statement
// instead of one statement per row.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "writer_impl.hpp"

namespace store::detail {

// Rows per multi-row INSERT. Each statement opens its cursors, checks the schema and halts
// once, which for rows this narrow costs about as much as writing the row; the CHECK on
// tag_events.kind builds a temporary b-tree for its IN list once per statement, not per row.
constexpr std::size_t rows_per_insert = 32;

// `head` followed by `rows` copies of `row`, each '#' in them numbered ?1, ?2, ... in order.
inline std::string multi_row_sql(std::string_view head, std::string_view row, std::size_t rows) {
  std::string sql(head);
  int next = 1;
  for (std::size_t r = 0; r < rows; ++r) {
    if (r > 0) sql += ", ";
    for (char c : row) {
      if (c != '#') {
        sql += c;
        continue;
      }
      sql += '?';
      sql += std::to_string(next++);
    }
  }
  return sql;
}

// An INSERT of many rows, as statements of rows_per_insert rows and of one row. The texts live
// as long as the program: statements are cached by the address of their text.
struct bulk_insert {
  int columns;
  std::string one, many;
  bulk_insert(std::string_view head, std::string_view row, int columns)
      : columns(columns),
        one(multi_row_sql(head, row, 1)),
        many(multi_row_sql(head, row, rows_per_insert)) {}
};

// Inserts `rows`: `bind(query, first parameter index - 1, row)` binds one row's parameters.
template <class Row, class Bind>
result<void> insert_rows(writer_state& w, const bulk_insert& insert, const std::vector<Row>& rows,
                         Bind bind) {
  std::size_t i = 0;
  if (rows.size() >= rows_per_insert) {
    auto s = w.stmt(insert.many.c_str());
    if (!s) return s.error();
    for (; i + rows_per_insert <= rows.size(); i += rows_per_insert) {
      query q(*s);
      for (std::size_t r = 0; r < rows_per_insert; ++r)
        bind(q, static_cast<int>(r) * insert.columns, rows[i + r]);
      STORE_TRY(q.run());
    }
  }
  if (i == rows.size()) return {};
  auto s = w.stmt(insert.one.c_str());
  if (!s) return s.error();
  for (; i < rows.size(); ++i) {
    query q(*s);
    bind(q, 0, rows[i]);
    STORE_TRY(q.run());
  }
  return {};
}

}  // namespace store::detail

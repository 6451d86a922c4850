// Human-readable output: aligned tables and key/value records, built from the daemon's JSON.
// Values keep the daemon's text: money stays its decimal string, ids their exact 64-bit value.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shopseg {

// Text of a value for a cell: a string as it is, a number exactly as the daemon wrote it,
// true/false, "-" for null or an empty array, a list of scalars joined by ", ", and any other
// array or object as compact JSON.
std::string cell_text(simdjson::dom::element value);

// The text of `object[key]`, "-" when the key is missing.
std::string field_text(simdjson::dom::element object, std::string_view key);

// Columns padded to their widest cell (counted in code points), two spaces apart; the last
// column is not padded.
class table {
 public:
  explicit table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  void print(std::FILE* out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One line of cells padded to `widths` (a cell wider than its column pushes the rest right);
// used where rows arrive one by one and cannot be measured first.
std::string aligned_row(const std::vector<std::string>& cells,
                        const std::vector<std::size_t>& widths);

using record = std::vector<std::pair<std::string, std::string>>;

// A record of an object's fields: the keys in `first` (those present) in that order, then the
// others in the daemon's order. A nested object becomes "parent.key" entries.
record record_of(simdjson::dom::object object, const std::vector<std::string_view>& first = {});

// "key   value" lines with the values aligned; a multi-line value is indented under itself.
void print_record(std::FILE* out, const record& fields);

}  // namespace shopseg

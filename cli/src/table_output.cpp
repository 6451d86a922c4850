#include "table_output.hpp"

#include <algorithm>

namespace shopseg {
namespace {

std::size_t display_width(std::string_view s) {
  // Code points, not bytes: names and emails are often not ASCII.
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void pad(std::string& line, std::string_view cell, std::size_t width) {
  line += cell;
  for (std::size_t w = display_width(cell); w < width; ++w) line += ' ';
}

bool is_scalar(simdjson::dom::element v) {
  return !v.is_array() && !v.is_object();
}

void flatten(record& out, const std::string& prefix, std::string_view key,
             simdjson::dom::element v) {
  const std::string name = prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
  simdjson::dom::object nested;
  if (!v.get(nested) && nested.size() > 0) {
    for (auto field : nested) flatten(out, name, field.key, field.value);
    return;
  }
  out.emplace_back(name, cell_text(v));
}

}  // namespace

std::string cell_text(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::STRING:
      return std::string(value.get_string().value_unsafe());
    case simdjson::dom::element_type::NULL_VALUE:
      return "-";
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array items = value.get_array().value_unsafe();
      if (items.size() == 0) return "-";
      std::string joined;
      for (auto item : items) {
        if (!is_scalar(item)) return simdjson::minify(value);
        if (!joined.empty()) joined += ", ";
        joined += cell_text(item);
      }
      return joined;
    }
    default:
      return simdjson::minify(value);  // numbers exactly as parsed (int64/uint64 stay exact)
  }
}

std::string field_text(simdjson::dom::element object, std::string_view key) {
  simdjson::dom::element v;
  if (object[key].get(v)) return "-";
  return cell_text(v);
}

void table::print(std::FILE* out) const {
  std::vector<std::size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], display_width(cells[i]));
  };
  measure(headers_);
  for (const auto& row : rows_) measure(row);
  std::string text = aligned_row(headers_, widths);
  for (const auto& row : rows_) text += aligned_row(row, widths);
  std::fputs(text.c_str(), out);
}

std::string aligned_row(const std::vector<std::string>& cells,
                        const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (i > 0) line += "  ";
    if (i + 1 == cells.size() || i >= widths.size())
      line += cells[i];
    else
      pad(line, cells[i], widths[i]);
  }
  line += '\n';
  return line;
}

record record_of(simdjson::dom::object object, const std::vector<std::string_view>& first) {
  record out;
  for (std::string_view key : first) {
    simdjson::dom::element v;
    if (!object[key].get(v)) flatten(out, "", key, v);
  }
  for (auto field : object) {
    if (std::find(first.begin(), first.end(), field.key) == first.end())
      flatten(out, "", field.key, field.value);
  }
  return out;
}

void print_record(std::FILE* out, const record& fields) {
  std::size_t width = 0;
  for (const auto& [key, value] : fields) width = std::max(width, display_width(key));
  std::string text;
  for (const auto& [key, value] : fields) {
    pad(text, key, width + 2);
    std::string_view shown = value;
    while (!shown.empty() && (shown.back() == '\n' || shown.back() == ' ')) shown.remove_suffix(1);
    for (char c : shown) {
      text += c;
      if (c == '\n') text.append(width + 2, ' ');
    }
    text += '\n';
  }
  std::fputs(text.c_str(), out);
}

}  // namespace shopseg

#include "json_output.hpp"

namespace shopseg {

void print_json(std::FILE* out, std::string_view body) {
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.remove_suffix(1);
  std::fwrite(body.data(), 1, body.size(), out);
  std::fputc('\n', out);
}

void print_json_line(std::FILE* out, simdjson::dom::element value) {
  print_json(out, simdjson::minify(value));
}

std::string json_array(const std::vector<std::string>& items) {
  std::string text = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) text += ',';
    text += items[i];
  }
  return text + "]";
}

void print_json_object(std::FILE* out,
                       const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string text = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) text += ',';
    text += '"' + fields[i].first + "\":" + fields[i].second;  // keys are the client's own names
  }
  text += "}";
  print_json(out, text);
}

}  // namespace shopseg

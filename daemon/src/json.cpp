// JSON output. Strings are escaped per RFC 8259; bytes >= 0x80 pass through (the store holds
// only UTF-8 that simdjson validated).
#include "json.hpp"

#include <charconv>

namespace shopsegd {

void json_writer::separate() {
  if (need_comma_) out_ += ',';
  need_comma_ = true;
}

json_writer& json_writer::begin_object() {
  separate();
  out_ += '{';
  need_comma_ = false;
  return *this;
}
json_writer& json_writer::end_object() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}
json_writer& json_writer::begin_array() {
  separate();
  out_ += '[';
  need_comma_ = false;
  return *this;
}
json_writer& json_writer::end_array() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}

json_writer& json_writer::key(std::string_view k) {
  value(k);
  out_ += ':';
  need_comma_ = false;
  return *this;
}

namespace {

// Bytes a JSON string cannot hold as they are: quote, backslash and the control characters.
constexpr bool needs_escape(unsigned char c) noexcept {
  return c < 0x20 || c == '"' || c == '\\';
}

}  // namespace

// Copied in runs: an answer is mostly plain text (names, emails, timestamps, keys), and
// appending it a character at a time cost a size check per byte.
json_writer& json_writer::value(std::string_view s) {
  separate();
  out_ += '"';
  static constexpr char hex[] = "0123456789abcdef";
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (!needs_escape(u)) continue;
    out_.append(s.data() + run, i - run);
    run = i + 1;
    switch (u) {
      case '"': out_ += "\\\""; break;
      case '\\': out_ += "\\\\"; break;
      case '\n': out_ += "\\n"; break;
      case '\r': out_ += "\\r"; break;
      case '\t': out_ += "\\t"; break;
      default:
        out_ += "\\u00";
        out_ += hex[u >> 4];
        out_ += hex[u & 15];
    }
  }
  out_.append(s.data() + run, s.size() - run);
  out_ += '"';
  return *this;
}

json_writer& json_writer::value(std::int64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::value(std::uint64_t n) {
  separate();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}

json_writer& json_writer::value(bool b) {
  separate();
  out_ += b ? "true" : "false";
  return *this;
}

json_writer& json_writer::null() {
  separate();
  out_ += "null";
  return *this;
}

json_writer& json_writer::raw(std::string_view literal) {
  separate();
  out_ += literal;
  return *this;
}

std::string error_json(std::string_view code, std::string_view message) {
  json_writer w;
  w.begin_object().key("error").begin_object().field("code", code).field("message", message);
  w.end_object().end_object();
  return w.take();
}

}  // namespace shopsegd

// A small streaming JSON writer for the query API's answers: objects, arrays, escaped strings,
// 64-bit integers written exactly. Commas are placed by the writer, so callers only name keys
// and values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shopsegd {

class json_writer {
 public:
  // Room for a customer answer up front, so it is not copied as it grows.
  json_writer() { out_.reserve(1024); }

  json_writer& begin_object();
  json_writer& end_object();
  json_writer& begin_array();
  json_writer& end_array();
  json_writer& key(std::string_view k);
  json_writer& value(std::string_view s);
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(std::int64_t n);
  json_writer& value(std::uint64_t n);
  json_writer& value(int n) { return value(static_cast<std::int64_t>(n)); }
  json_writer& value(bool b);
  json_writer& null();
  // Writes `literal` unchanged (it must already be valid JSON).
  json_writer& raw(std::string_view literal);
  template <class T>
  json_writer& value(const std::optional<T>& v) { return v ? value(*v) : null(); }

  template <class T>
  json_writer& field(std::string_view k, const T& v) { return key(k).value(v); }

  std::string take() { return std::move(out_); }
  const std::string& str() const { return out_; }

 private:
  void separate();
  std::string out_;
  bool need_comma_ = false;
};

// {"error": {"code": code, "message": message}}
std::string error_json(std::string_view code, std::string_view message);

}  // namespace shopsegd

// Typed, error-collecting access to one JSON object of a validated simdjson DOM.
//
// Decoders read every field they need in a straight line; the first failure is recorded in a
// sink shared by a reader and the readers of its nested objects, and later reads return
// defaults. The decoder checks the sink once at the end. Reasons name the field path
// ("customer.id: missing"), never the value.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shopify/decode.hpp"
#include "shopify/events.hpp"

namespace shopify::detail {

class object_reader {
 public:
  object_reader(simdjson::dom::object object, std::string path,
                std::optional<decode_error>& sink) noexcept
      : object_(object), path_(std::move(path)), sink_(&sink) {}

  bool failed() const noexcept { return sink_->has_value(); }
  // Records "path.key: what" unless an earlier failure is already recorded.
  void fail(std::string_view key, std::string_view what);

  // The member, or nullopt when absent or JSON null.
  std::optional<simdjson::dom::element> find(std::string_view key) const noexcept;
  // The name of the first of `keys` present (not null), or empty.
  std::string_view first_present(std::initializer_list<std::string_view> keys) const noexcept;

  // Ids: JSON unsigned integers (never through a double) or GID strings "gid://shopify/T/123".
  id_t required_id(std::string_view key);
  std::optional<id_t> optional_id(std::string_view key);
  std::vector<id_t> id_array(std::string_view key);  // absent: empty

  std::int64_t required_time(std::string_view key);
  std::optional<std::int64_t> optional_time(std::string_view key);

  std::optional<std::string> optional_string(std::string_view key);
  std::string string_or_empty(std::string_view key) { return optional_string(key).value_or(""); }
  std::string required_string(std::string_view key);
  bool bool_or(std::string_view key, bool fallback);
  std::int64_t required_int(std::string_view key);
  // A decimal string in minor units of a currency with `exponent` digits.
  std::int64_t required_money(std::string_view key, int exponent);

  // A comma-separated string (split and trimmed) or an array of strings; empty entries are
  // dropped. nullopt when absent or null.
  std::optional<std::vector<std::string>> optional_tags(std::string_view key);

  std::optional<object_reader> optional_object(std::string_view key);
  std::optional<object_reader> required_object(std::string_view key);
  // A reader of `object` (an element of one of this object's arrays) sharing this sink.
  object_reader nested(simdjson::dom::object object, std::string_view key) const;

 private:
  std::optional<id_t> to_id(simdjson::dom::element value, std::string_view key);

  simdjson::dom::object object_;
  std::string path_;
  std::optional<decode_error>* sink_;
};

}  // namespace shopify::detail

// Field access for the payload decoders: type checks, id and GID parsing, exact money and
// timestamps, all reporting the field path on failure.
#include "object_reader.hpp"

#include <charconv>

#include "shopify/money.hpp"
#include "shopify/timestamp.hpp"

namespace shopify::detail {
namespace {

// "gid://shopify/Customer/123" -> "123"; anything else -> empty.
std::string_view gid_number(std::string_view text) noexcept {
  constexpr std::string_view prefix = "gid://shopify/";
  if (text.substr(0, prefix.size()) != prefix) return {};
  text.remove_prefix(prefix.size());
  const std::size_t slash = text.find('/');
  if (slash == 0 || slash == std::string_view::npos) return {};
  text.remove_prefix(slash + 1);
  // GIDs may carry a query ("?foo=bar") after the number.
  return text.substr(0, text.find('?'));
}

std::optional<id_t> parse_decimal_id(std::string_view digits) noexcept {
  id_t value = 0;
  if (digits.empty() || digits.front() == '+') return std::nullopt;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view text) noexcept {
  constexpr std::string_view blanks = " \t\r\n";
  const std::size_t first = text.find_first_not_of(blanks);
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(blanks) - first + 1);
}

}  // namespace

void object_reader::fail(std::string_view key, std::string_view what) {
  if (sink_->has_value()) return;
  std::string reason = path_;
  if (!reason.empty()) reason += '.';
  reason.append(key).append(": ").append(what);
  *sink_ = decode_error{std::move(reason)};
}

std::optional<simdjson::dom::element> object_reader::find(std::string_view key) const noexcept {
  simdjson::dom::element value;
  if (object_.at_key(key).get(value) != simdjson::SUCCESS || value.is_null()) return std::nullopt;
  return value;
}

std::string_view object_reader::first_present(
    std::initializer_list<std::string_view> keys) const noexcept {
  for (std::string_view key : keys) {
    if (find(key)) return key;
  }
  return {};
}

std::optional<id_t> object_reader::to_id(simdjson::dom::element value, std::string_view key) {
  std::uint64_t number = 0;
  if (value.get_uint64().get(number) == simdjson::SUCCESS) return number;
  std::string_view text;
  if (value.get_string().get(text) == simdjson::SUCCESS) {
    const std::string_view gid = gid_number(text);
    if (auto id = parse_decimal_id(gid.empty() ? text : gid)) return id;
  }
  fail(key, "not a 64-bit unsigned id");
  return std::nullopt;
}

id_t object_reader::required_id(std::string_view key) {
  const auto value = find(key);
  if (!value) {
    fail(key, "missing");
    return 0;
  }
  return to_id(*value, key).value_or(0);
}

std::optional<id_t> object_reader::optional_id(std::string_view key) {
  const auto value = find(key);
  if (!value) return std::nullopt;
  return to_id(*value, key);
}

std::vector<id_t> object_reader::id_array(std::string_view key) {
  std::vector<id_t> ids;
  const auto value = find(key);
  if (!value) return ids;
  simdjson::dom::array array;
  if (value->get_array().get(array) != simdjson::SUCCESS) {
    fail(key, "not an array");
    return ids;
  }
  for (simdjson::dom::element item : array) {
    const auto id = to_id(item, key);
    if (!id) break;
    ids.push_back(*id);
  }
  return ids;
}

std::optional<std::int64_t> object_reader::optional_time(std::string_view key) {
  const auto text = optional_string(key);
  if (!text) return std::nullopt;
  const auto ms = parse_timestamp_ms(*text);
  if (!ms) {
    fail(key, "not an RFC 3339 timestamp");
    return std::nullopt;
  }
  return *ms;
}

std::int64_t object_reader::required_time(std::string_view key) {
  if (!find(key)) {
    fail(key, "missing");
    return 0;
  }
  return optional_time(key).value_or(0);
}

std::optional<std::string> object_reader::optional_string(std::string_view key) {
  const auto value = find(key);
  if (!value) return std::nullopt;
  std::string_view text;
  if (value->get_string().get(text) != simdjson::SUCCESS) {
    fail(key, "not a string");
    return std::nullopt;
  }
  return std::string(text);
}

std::string object_reader::required_string(std::string_view key) {
  if (!find(key)) {
    fail(key, "missing");
    return {};
  }
  return string_or_empty(key);
}

bool object_reader::bool_or(std::string_view key, bool fallback) {
  const auto value = find(key);
  if (!value) return fallback;
  bool flag = fallback;
  if (value->get_bool().get(flag) != simdjson::SUCCESS) fail(key, "not a boolean");
  return flag;
}

std::int64_t object_reader::required_int(std::string_view key) {
  const auto value = find(key);
  std::int64_t number = 0;
  if (!value) {
    fail(key, "missing");
  } else if (value->get_int64().get(number) != simdjson::SUCCESS) {
    fail(key, "not a 64-bit integer");
  }
  return number;
}

std::int64_t object_reader::required_money(std::string_view key, int exponent) {
  const std::string text = required_string(key);
  if (failed()) return 0;
  const auto minor = parse_money(text, exponent);
  if (!minor) {
    fail(key, "not an exact decimal amount in its currency");
    return 0;
  }
  return *minor;
}

std::optional<std::vector<std::string>> object_reader::optional_tags(std::string_view key) {
  const auto value = find(key);
  if (!value) return std::nullopt;
  std::vector<std::string> tags;
  auto add = [&tags](std::string_view tag) {
    tag = trim(tag);
    if (!tag.empty()) tags.emplace_back(tag);
  };
  std::string_view text;
  simdjson::dom::array array;
  if (value->get_string().get(text) == simdjson::SUCCESS) {
    for (std::size_t comma; (comma = text.find(',')) != std::string_view::npos;) {
      add(text.substr(0, comma));
      text.remove_prefix(comma + 1);
    }
    add(text);
  } else if (value->get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element item : array) {
      if (item.get_string().get(text) != simdjson::SUCCESS) {
        fail(key, "not an array of strings");
        return std::nullopt;
      }
      add(text);
    }
  } else {
    fail(key, "not a string or an array of strings");
    return std::nullopt;
  }
  return tags;
}

std::optional<object_reader> object_reader::optional_object(std::string_view key) {
  const auto value = find(key);
  if (!value) return std::nullopt;
  simdjson::dom::object nested;
  if (value->get_object().get(nested) != simdjson::SUCCESS) {
    fail(key, "not an object");
    return std::nullopt;
  }
  return this->nested(nested, key);
}

object_reader object_reader::nested(simdjson::dom::object object, std::string_view key) const {
  std::string nested_path = path_;
  if (!nested_path.empty()) nested_path += '.';
  nested_path.append(key);
  return object_reader(object, std::move(nested_path), *sink_);
}

std::optional<object_reader> object_reader::required_object(std::string_view key) {
  if (!find(key)) {
    fail(key, "missing");
    return std::nullopt;
  }
  return optional_object(key);
}

}  // namespace shopify::detail

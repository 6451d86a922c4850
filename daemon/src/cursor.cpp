// Cursor encoding (see cursor.hpp). The plain text is "shop\nid".
#include "cursor.hpp"

#include <charconv>

namespace shopsegd {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  auto pos = alphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

}  // namespace

std::string encode_cursor(const store::customer_key& key) {
  const std::string plain = key.shop + "\n" + std::to_string(key.customer_id);
  std::string out;
  unsigned bits = 0;
  int held = 0;
  for (unsigned char c : plain) {
    bits = (bits << 8) | c;
    held += 8;
    while (held >= 6) {
      held -= 6;
      out += alphabet[(bits >> held) & 63];
    }
  }
  if (held > 0) out += alphabet[(bits << (6 - held)) & 63];
  return out;
}

std::optional<store::customer_key> decode_cursor(std::string_view cursor) {
  if (cursor.size() % 4 == 1 || cursor.size() > 400) return std::nullopt;
  std::string plain;
  unsigned bits = 0;
  int held = 0;
  for (char c : cursor) {
    const int v = sextet(c);
    if (v < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(v);
    held += 6;
    if (held >= 8) {
      held -= 8;
      plain += static_cast<char>((bits >> held) & 255);
    }
  }
  if ((bits & ((1u << held) - 1)) != 0) return std::nullopt;  // leftover bits must be zero
  const auto nl = plain.find('\n');
  if (nl == std::string::npos || nl == 0) return std::nullopt;
  store::customer_key key{plain.substr(0, nl), 0};
  const char* first = plain.data() + nl + 1;
  const char* last = plain.data() + plain.size();
  auto [p, ec] = std::from_chars(first, last, key.customer_id);
  if (ec != std::errc{} || p != last || first == last) return std::nullopt;
  if (encode_cursor(key) != cursor) return std::nullopt;  // one spelling per key
  return key;
}

}  // namespace shopsegd

// Payload decoding of every topic: input is "<topic name>\n<body>" (a name shopseg does not know
// picks a topic from its first byte, so mutations of the name still reach every decoder). The
// decoder must give an event or an error, never crash, read out of bounds or overflow.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shopify/decode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static shopify::decoder decoder;  // one per thread, reused as the daemon does
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view name = input.substr(0, newline == std::string_view::npos ? 0 : newline);
  const std::string_view body = newline == std::string_view::npos ? input : input.substr(newline + 1);
  shopify::topic t = shopify::topic_from_name(name);
  if (t == shopify::topic::unknown && !name.empty())
    t = static_cast<shopify::topic>(static_cast<unsigned char>(name[0]) % static_cast<unsigned>(shopify::topic::unknown));
  auto decoded = decoder.decode(t, body);
  if (decoded) (void)shopify::topic_name(t);
  return 0;
}

// The members cursor: opaque, URL-safe, one spelling per customer key.
#include <doctest/doctest.h>

#include "cursor.hpp"

using shopsegd::decode_cursor;
using shopsegd::encode_cursor;

TEST_CASE("a cursor round-trips every customer key and is URL-safe") {
  for (const store::customer_key& key : {store::customer_key{"hot-rod-an.myshopify.com", 7390180213025},
                                          store::customer_key{"a.myshopify.com", 0},
                                          store::customer_key{"b.myshopify.com", UINT64_MAX},
                                          store::customer_key{"x", 1}}) {
    const std::string cursor = encode_cursor(key);
    CHECK(cursor.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") == std::string::npos);
    auto back = decode_cursor(cursor);
    REQUIRE(back.has_value());
    CHECK(*back == key);
  }
}

TEST_CASE("anything a cursor could not be is refused") {
  const std::string good = encode_cursor({"a.myshopify.com", 42});
  CHECK_FALSE(decode_cursor("").has_value());
  CHECK_FALSE(decode_cursor("not a cursor").has_value());
  CHECK_FALSE(decode_cursor(good + "A").has_value());
  CHECK_FALSE(decode_cursor(encode_cursor({"a.myshopify.com", 42}).replace(0, 1, "=")).has_value());
  // Well-formed base64 of text that is not "shop\nid".
  CHECK_FALSE(decode_cursor("YWJj").has_value());          // "abc"
  CHECK_FALSE(decode_cursor("YQpmb28").has_value());       // "a\nfoo"
  CHECK_FALSE(decode_cursor("CjQy").has_value());          // "\n42": no shop
  CHECK_FALSE(decode_cursor("YQo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5").has_value());  // id over 64 bits
}

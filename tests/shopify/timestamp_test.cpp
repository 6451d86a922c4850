// RFC 3339 parsing and formatting.
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "shopify/timestamp.hpp"

using shopify::format_timestamp_ms;
using shopify::parse_timestamp_ms;

namespace {
std::int64_t ms(const char* text) {
  const auto parsed = parse_timestamp_ms(text);
  REQUIRE(parsed.has_value());
  return *parsed;
}
}  // namespace

TEST_CASE("parse_timestamp_ms reads Shopify's forms") {
  CHECK(ms("1970-01-01T00:00:00Z") == 0);
  CHECK(ms("1970-01-01") == 0);
  CHECK(ms("2026-11-01T15:00:00Z") == 1793545200000);
  CHECK(ms("2026-11-01T10:00:00-05:00") == 1793545200000);
  CHECK(ms("2026-11-01 15:00:00Z") == 1793545200000);
  CHECK(ms("2026-11-01T15:00:00.123456Z") == 1793545200123);
  CHECK(ms("2026-11-01T15:00:00.1Z") == 1793545200100);
  CHECK(ms("2026-11-01T16:30:00+01:30") == 1793545200000);
  CHECK(ms("2005-05-05T05:00:00.000Z") == 1115269200000);
  CHECK(ms("1969-12-31T23:59:59.999Z") == -1);
}

TEST_CASE("offsets crossing midnight and years") {
  // 19:00 on Dec 31 in UTC-5 is midnight Jan 1 UTC.
  CHECK(ms("2021-12-31T19:00:00-05:00") == ms("2022-01-01T00:00:00Z"));
  CHECK(ms("2022-01-01T05:00:00+09:00") == ms("2021-12-31T20:00:00Z"));
  CHECK(ms("2022-01-01T00:00:00+14:00") == ms("2021-12-31T10:00:00Z"));
}

TEST_CASE("leap years") {
  CHECK(ms("2024-02-29") + 86400000 == ms("2024-03-01"));
  CHECK(ms("2000-02-29") + 86400000 == ms("2000-03-01"));
  CHECK(ms("2023-02-28") + 86400000 == ms("2023-03-01"));
  CHECK_FALSE(parse_timestamp_ms("2023-02-29").has_value());
  CHECK_FALSE(parse_timestamp_ms("1900-02-29").has_value());
  CHECK(ms("2024-12-31") - ms("2024-01-01") == 365LL * 86400000);
}

TEST_CASE("parse_timestamp_ms rejects other text") {
  for (const char* text :
       {"", "2026", "2026-11", "2026-13-01", "2026-00-10", "2026-11-31", "2026-11-01T",
        "2026-11-01T15:00:00", "2026-11-01T15:00Z", "2026-11-01T24:00:00Z",
        "2026-11-01T15:60:00Z", "2026-11-01T15:00:00.Z", "2026-11-01T15:00:00+5:00",
        "2026-11-01T15:00:00+05:00x", "2026-11-01x", "26-11-01", "2026/11/01",
        "2026-11-01T15:00:00+24:00", " 2026-11-01"}) {
    CAPTURE(text);
    CHECK_FALSE(parse_timestamp_ms(text).has_value());
  }
}

TEST_CASE("format_timestamp_ms") {
  CHECK(format_timestamp_ms(0) == "1970-01-01T00:00:00Z");
  CHECK(format_timestamp_ms(1793545200123) == "2026-11-01T15:00:00.123Z");
  CHECK(format_timestamp_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_timestamp_ms(ms("2024-02-29T23:59:59Z")) == "2024-02-29T23:59:59Z");
  // Four-digit years are written digit by digit, the others by snprintf: both ends of each.
  CHECK(format_timestamp_ms(ms("0999-03-04T05:06:07.008Z")) == "0999-03-04T05:06:07.008Z");
  CHECK(format_timestamp_ms(ms("9999-12-31T23:59:59.999Z")) == "9999-12-31T23:59:59.999Z");
  CHECK(format_timestamp_ms(253402300800000) == "10000-01-01T00:00:00Z");
  CHECK(format_timestamp_ms(-62135596800001) == "0000-12-31T23:59:59.999Z");
  for (std::int64_t value : {std::int64_t{0}, std::int64_t{951782400000}, std::int64_t{-86400001},
                             std::int64_t{4102444800999}}) {
    CHECK(ms(format_timestamp_ms(value).c_str()) == value);
  }
}

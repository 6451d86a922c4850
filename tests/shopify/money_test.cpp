// Exact money parsing and formatting, ISO 4217 exponents.
#include <doctest/doctest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "shopify/money.hpp"

using shopify::currency_exponent;
using shopify::format_money;
using shopify::parse_money;

TEST_CASE("currency exponents follow ISO 4217") {
  for (const char* code : {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", "XPF"}) {
    CAPTURE(code);
    CHECK(currency_exponent(code) == 0);
  }
  for (const char* code : {"BHD", "KWD", "OMR", "JOD", "TND", "IQD", "LYD"}) {
    CAPTURE(code);
    CHECK(currency_exponent(code) == 3);
  }
  for (const char* code : {"USD", "EUR", "GBP", "CAD", "", "???"}) {
    CAPTURE(code);
    CHECK(currency_exponent(code) == 2);
  }
}

TEST_CASE("parse_money accepts exact decimals") {
  struct row {
    const char* text;
    int exponent;
    std::int64_t minor;
  };
  const std::vector<row> rows{
      {"12840.50", 2, 1284050}, {"0.00", 2, 0},      {"414.95", 2, 41495},
      {"10.500", 2, 1050},      {"10", 2, 1000},     {"10.5", 2, 1050},
      {"-3.25", 2, -325},       {"-0.00", 2, 0},     {"1500", 0, 1500},
      {"1500.00", 0, 1500},     {"1.234", 3, 1234},  {"0.1", 3, 100},
      {"92233720368547758.07", 2, std::numeric_limits<std::int64_t>::max()},
      {"-92233720368547758.08", 2, std::numeric_limits<std::int64_t>::min()},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    const auto parsed = parse_money(r.text, r.exponent);
    REQUIRE(parsed.has_value());
    CHECK(*parsed == r.minor);
  }
}

TEST_CASE("parse_money rejects inexact or malformed text") {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  for (const char* text : {"", "10.505", "1e5", "+1.00", "1.", ".5", "-", "1,000.00", " 1.00",
                           "1.00 ", "0x10", "NaN", "1.2.3", "--1", "١٢"}) {
    CAPTURE(text);
    const auto parsed = parse_money(text, 2);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == invalid);
  }
  CHECK_FALSE(parse_money("10.5", 0).has_value());
}

TEST_CASE("parse_money detects overflow") {
  const auto overflow = std::make_error_code(std::errc::result_out_of_range);
  for (const char* text : {"92233720368547758.08", "-92233720368547758.09",
                           "99999999999999999999999", "9223372036854775808"}) {
    CAPTURE(text);
    const auto parsed = parse_money(text, 2);
    REQUIRE_FALSE(parsed.has_value());
    CHECK(parsed.error() == overflow);
  }
}

TEST_CASE("format_money is the inverse of parse_money") {
  CHECK(format_money(1284050, 2) == "12840.50");
  CHECK(format_money(5, 2) == "0.05");
  CHECK(format_money(-5, 2) == "-0.05");
  CHECK(format_money(0, 2) == "0.00");
  CHECK(format_money(1500, 0) == "1500");
  CHECK(format_money(-1234, 3) == "-1.234");
  CHECK(format_money(std::numeric_limits<std::int64_t>::max(), 2) == "92233720368547758.07");
  CHECK(format_money(std::numeric_limits<std::int64_t>::min(), 2) == "-92233720368547758.08");
  for (std::int64_t minor : {std::int64_t{0}, std::int64_t{1}, std::int64_t{-999}, std::int64_t{123456789},
                             std::numeric_limits<std::int64_t>::min()}) {
    for (int exponent : {0, 2, 3}) {
      const auto back = parse_money(format_money(minor, exponent), exponent);
      REQUIRE(back.has_value());
      CHECK(*back == minor);
    }
  }
}

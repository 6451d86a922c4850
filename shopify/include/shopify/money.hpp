// Exact money: decimal strings <-> integer minor units of an ISO 4217 currency.
//
// Shopify sends money as decimal strings ("12840.50"); a double would lose cents on large sums,
// so every amount is held as an int64 count of the currency's minor unit.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace shopify {

// Number of minor-unit digits of an ISO 4217 code (2 for USD, 0 for JPY, 3 for KWD).
// Unknown codes are 2, Shopify's own default for display.
int currency_exponent(std::string_view iso_code) noexcept;

// Parses "-?digits[.digits]" into minor units of a currency with `exponent` digits.
// More fraction digits than the exponent are accepted only when the extra ones are zeros
// ("10.500" for USD); otherwise, and on overflow or any other text, the error is
// std::errc::invalid_argument or std::errc::result_out_of_range.
boost::system::result<std::int64_t> parse_money(std::string_view decimal, int exponent) noexcept;

// Formats minor units as a decimal string with exactly `exponent` fraction digits.
std::string format_money(std::int64_t minor, int exponent);

}  // namespace shopify

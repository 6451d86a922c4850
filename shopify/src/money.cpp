// Exact decimal money: digit-by-digit parsing into int64 minor units with overflow checks, and
// the ISO 4217 exponents that decide how many fraction digits a currency has.
#include "shopify/money.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <system_error>

namespace shopify {
namespace {

struct currency_digits {
  std::string_view code;
  int exponent;
};

// ISO 4217 currencies whose minor unit is not 1/100. Sorted by code for binary search.
constexpr std::array<currency_digits, 22> non_default_exponents{{
    {"BHD", 3}, {"BIF", 0}, {"CLF", 4}, {"CLP", 0}, {"DJF", 0}, {"GNF", 0}, {"IQD", 3},
    {"ISK", 0}, {"JOD", 3}, {"JPY", 0}, {"KMF", 0}, {"KRW", 0}, {"KWD", 3}, {"LYD", 3},
    {"OMR", 3}, {"PYG", 0}, {"RWF", 0}, {"TND", 3}, {"UGX", 0}, {"UYW", 4}, {"VND", 0},
    {"VUV", 0},
}};
// XAF, XOF, XPF are zero-digit too; kept apart so the array above stays readable.
constexpr std::array<std::string_view, 3> zero_digit_franc_codes{"XAF", "XOF", "XPF"};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Accumulates magnitudes as negative numbers so INT64_MIN is reachable.
bool append_digit(std::int64_t& negative_total, int digit) noexcept {
  constexpr std::int64_t min_value = std::numeric_limits<std::int64_t>::min();
  if (negative_total < min_value / 10) return false;
  negative_total *= 10;
  if (negative_total < min_value + digit) return false;
  negative_total -= digit;
  return true;
}

}  // namespace

int currency_exponent(std::string_view iso_code) noexcept {
  const auto found = std::lower_bound(
      non_default_exponents.begin(), non_default_exponents.end(), iso_code,
      [](const currency_digits& entry, std::string_view code) { return entry.code < code; });
  if (found != non_default_exponents.end() && found->code == iso_code) return found->exponent;
  if (std::find(zero_digit_franc_codes.begin(), zero_digit_franc_codes.end(), iso_code) !=
      zero_digit_franc_codes.end()) {
    return 0;
  }
  return 2;
}

boost::system::result<std::int64_t> parse_money(std::string_view decimal, int exponent) noexcept {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  const auto overflow = std::make_error_code(std::errc::result_out_of_range);
  if (exponent < 0 || exponent > 18) return invalid;
  bool negative = false;
  if (!decimal.empty() && decimal.front() == '-') {
    negative = true;
    decimal.remove_prefix(1);
  }
  const std::size_t dot = decimal.find('.');
  const std::string_view whole = decimal.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view{} : decimal.substr(dot + 1);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), is_digit)) return invalid;
  if (dot != std::string_view::npos && fraction.empty()) return invalid;
  if (!std::all_of(fraction.begin(), fraction.end(), is_digit)) return invalid;

  std::int64_t negative_total = 0;
  for (char c : whole) {
    if (!append_digit(negative_total, c - '0')) return overflow;
  }
  for (int i = 0; i < exponent; ++i) {
    const int digit = static_cast<std::size_t>(i) < fraction.size() ? fraction[i] - '0' : 0;
    if (!append_digit(negative_total, digit)) return overflow;
  }
  // Digits beyond the currency's precision must be zeros: anything else would be rounding.
  for (std::size_t i = static_cast<std::size_t>(exponent); i < fraction.size(); ++i) {
    if (fraction[i] != '0') return invalid;
  }
  if (negative) return negative_total;
  if (negative_total == std::numeric_limits<std::int64_t>::min()) return overflow;
  return -negative_total;
}

std::string format_money(std::int64_t minor, int exponent) {
  exponent = std::clamp(exponent, 0, 18);
  // Work on the unsigned magnitude so INT64_MIN formats correctly.
  const bool negative = minor < 0;
  std::uint64_t magnitude =
      negative ? 0u - static_cast<std::uint64_t>(minor) : static_cast<std::uint64_t>(minor);
  std::string digits;
  do {
    digits.push_back(static_cast<char>('0' + magnitude % 10));
    magnitude /= 10;
  } while (magnitude != 0);
  while (digits.size() < static_cast<std::size_t>(exponent) + 1) digits.push_back('0');
  std::string out = negative ? "-" : "";
  const std::size_t whole_digits = digits.size() - static_cast<std::size_t>(exponent);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i == whole_digits) out.push_back('.');
    out.push_back(digits[digits.size() - 1 - i]);
  }
  return out;
}

}  // namespace shopify

// RFC 3339 timestamps <-> epoch milliseconds, by hand: std::chrono's parse is incomplete in the
// standard libraries we build with, and the civil-date arithmetic is a few lines (Howard
// Hinnant's days_from_civil / civil_from_days).
#include "shopify/timestamp.hpp"

#include <cstdio>
#include <optional>
#include <system_error>

namespace shopify {
namespace {

constexpr std::int64_t ms_per_second = 1000;
constexpr std::int64_t ms_per_day = 86'400'000;

// Days since 1970-01-01 of a proleptic Gregorian date.
constexpr std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

struct civil_date {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr civil_date civil_from_days(std::int64_t days) noexcept {
  days += 719468;
  const std::int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

constexpr bool is_leap(std::int64_t year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

constexpr unsigned days_in_month(std::int64_t year, unsigned month) noexcept {
  constexpr unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29 : lengths[month - 1];
}

// Reads exactly `count` digits at `pos`, advancing it.
std::optional<unsigned> read_digits(std::string_view text, std::size_t& pos, int count) noexcept {
  if (pos + static_cast<std::size_t>(count) > text.size()) return std::nullopt;
  unsigned value = 0;
  for (int i = 0; i < count; ++i, ++pos) {
    const char c = text[pos];
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  return value;
}

bool expect(std::string_view text, std::size_t& pos, char c) noexcept {
  if (pos >= text.size() || text[pos] != c) return false;
  ++pos;
  return true;
}

// "Z", "z" or "±HH:MM" (also "±HHMM") -> offset east of UTC in minutes; must end the text.
std::optional<int> read_offset_minutes(std::string_view text, std::size_t& pos) noexcept {
  if (pos >= text.size()) return std::nullopt;
  const char sign = text[pos++];
  if (sign == 'Z' || sign == 'z') return 0;
  if (sign != '+' && sign != '-') return std::nullopt;
  const auto hours = read_digits(text, pos, 2);
  if (!hours) return std::nullopt;
  if (pos < text.size() && text[pos] == ':') ++pos;
  const auto minutes = read_digits(text, pos, 2);
  if (!minutes || *hours > 23 || *minutes > 59) return std::nullopt;
  const int total = static_cast<int>(*hours * 60 + *minutes);
  return sign == '-' ? -total : total;
}

}  // namespace

boost::system::result<std::int64_t> parse_timestamp_ms(std::string_view text) noexcept {
  const auto invalid = std::make_error_code(std::errc::invalid_argument);
  std::size_t pos = 0;
  const auto year = read_digits(text, pos, 4);
  if (!year || !expect(text, pos, '-')) return invalid;
  const auto month = read_digits(text, pos, 2);
  if (!month || !expect(text, pos, '-')) return invalid;
  const auto day = read_digits(text, pos, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > days_in_month(*year, *month)) {
    return invalid;
  }
  const std::int64_t day_ms = days_from_civil(*year, *month, *day) * ms_per_day;
  if (pos == text.size()) return day_ms;  // bare date: midnight UTC

  if (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' ') return invalid;
  ++pos;
  const auto hour = read_digits(text, pos, 2);
  if (!hour || !expect(text, pos, ':')) return invalid;
  const auto minute = read_digits(text, pos, 2);
  if (!minute || !expect(text, pos, ':')) return invalid;
  const auto second = read_digits(text, pos, 2);
  // RFC 3339 allows second 60 (a leap second); epoch time has none, so it lands on the next
  // minute's first second.
  if (!second || *hour > 23 || *minute > 59 || *second > 60) return invalid;

  std::int64_t millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    int fraction_digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (fraction_digits < 3) millis = millis * 10 + (text[pos] - '0');
      ++fraction_digits;
      ++pos;
    }
    if (fraction_digits == 0) return invalid;
    for (int i = fraction_digits; i < 3; ++i) millis *= 10;
  }
  const auto offset = read_offset_minutes(text, pos);
  if (!offset || pos != text.size()) return invalid;

  const std::int64_t seconds_of_day = (*hour * 60 + *minute) * 60 + *second;
  return day_ms + seconds_of_day * ms_per_second + millis -
         static_cast<std::int64_t>(*offset) * 60 * ms_per_second;
}

std::string format_timestamp_ms(std::int64_t epoch_ms) {
  std::int64_t days = epoch_ms / ms_per_day;
  std::int64_t ms_of_day = epoch_ms % ms_per_day;
  if (ms_of_day < 0) {
    ms_of_day += ms_per_day;
    --days;
  }
  const civil_date date = civil_from_days(days);
  const auto millis = static_cast<int>(ms_of_day % 1000);
  const auto seconds = static_cast<int>(ms_of_day / 1000 % 60);
  const auto minutes = static_cast<int>(ms_of_day / 60'000 % 60);
  const auto hours = static_cast<int>(ms_of_day / 3'600'000);
  if (date.year >= 0 && date.year <= 9999) {
    // The usual case without snprintf: an import's client formats three times per order.
    char text[24] = {'0', '0', '0', '0', '-', '0', '0', '-', '0', '0', 'T', '0',
                     '0', ':', '0', '0', ':', '0', '0', '.', '0', '0', '0', 'Z'};
    auto put = [&text](std::size_t at, unsigned value, std::size_t width) {
      for (std::size_t i = width; i-- > 0; value /= 10)
        text[at + i] = static_cast<char>('0' + value % 10);
    };
    put(0, static_cast<unsigned>(date.year), 4);
    put(5, date.month, 2);
    put(8, date.day, 2);
    put(11, static_cast<unsigned>(hours), 2);
    put(14, static_cast<unsigned>(minutes), 2);
    put(17, static_cast<unsigned>(seconds), 2);
    if (millis == 0) {
      text[19] = 'Z';
      return std::string(text, 20);
    }
    put(20, static_cast<unsigned>(millis), 3);
    return std::string(text, 24);
  }
  char buffer[48];
  int length = 0;
  if (millis == 0) {
    length = std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02d:%02d:%02dZ",
                           static_cast<long long>(date.year), date.month, date.day, hours, minutes,
                           seconds);
  } else {
    length = std::snprintf(buffer, sizeof buffer, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                           static_cast<long long>(date.year), date.month, date.day, hours, minutes,
                           seconds, millis);
  }
  return std::string(buffer, static_cast<std::size_t>(length > 0 ? length : 0));
}

}  // namespace shopify

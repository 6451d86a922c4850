// RFC 3339 / ISO 8601 timestamps as Shopify sends them.
//
// Shopify mixes "2026-11-01T10:00:00-05:00", "2026-11-01T15:00:00Z" and
// "2026-11-01T15:00:00.123456Z". Versions are compared as instants, so every form becomes
// milliseconds since the Unix epoch (UTC).
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace shopify {

// "YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)" (also a space for 'T', and a bare date
// "YYYY-MM-DD" as midnight UTC) -> epoch milliseconds. Fractions beyond milliseconds are
// truncated. Any other text is std::errc::invalid_argument.
boost::system::result<std::int64_t> parse_timestamp_ms(std::string_view text) noexcept;

// Epoch milliseconds -> "YYYY-MM-DDTHH:MM:SS.mmmZ" ("...:SSZ" when the milliseconds are 0).
std::string format_timestamp_ms(std::int64_t epoch_ms);

}  // namespace shopify

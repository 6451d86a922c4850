// JSON renderings of store records in the query API's field names (SPEC §4): money as decimal
// strings in the shop currency, dates as calendar days in the shop's time zone, ids as exact
// JSON integers.
#pragma once

#include <optional>

#include "config.hpp"
#include "json.hpp"
#include "store/records.hpp"

namespace shopsegd {

// "YYYY-MM-DD" of an instant in the IANA zone `timezone` (UTC when unknown).
std::string local_day(std::int64_t epoch_ms, const std::string& timezone);

void render_customer(json_writer& w, const store::customer_view& c, const config& cfg,
                     std::optional<std::int64_t> as_of_ms);
void render_order(json_writer& w, const store::order_view& o, const config& cfg);

}  // namespace shopsegd

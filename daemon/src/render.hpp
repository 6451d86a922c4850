// JSON renderings of store records in the query API's field names (SPEC §4): money as decimal
// strings in the shop currency, dates as calendar days in the shop's time zone, ids as exact
// JSON integers.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "json.hpp"
#include "store/records.hpp"

namespace shopsegd {

// "YYYY-MM-DD" of an instant in the IANA zone `timezone` (UTC when unknown).
std::string local_day(std::int64_t epoch_ms, const std::string& timezone);

// `memberships` are the customer's stored segment memberships (tier, segments and the merged
// service attributes are derived from them and the config).
void render_customer(json_writer& w, const store::customer_view& c, const config& cfg,
                     std::optional<std::int64_t> as_of_ms, const std::vector<std::string>& memberships);
void render_order(json_writer& w, const store::order_view& o, const config& cfg);

}  // namespace shopsegd

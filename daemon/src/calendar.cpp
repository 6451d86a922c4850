// Time-zone arithmetic with Howard Hinnant's date/tz (GCC 12 has no std::chrono zones).
#include "calendar.hpp"

#include <date/tz.h>

namespace shopsegd {

calendar::calendar(const config& cfg) : utc_(date::locate_zone("UTC")) {
  for (const auto& s : cfg.shops) {
    try {
      zones_[s.domain] = date::locate_zone(s.timezone);
    } catch (const std::exception&) {
      zones_[s.domain] = utc_;  // validated at load; a vanished tzdata entry falls back to UTC
    }
  }
}

const date::time_zone* calendar::zone_of(std::string_view shop) const {
  auto it = zones_.find(shop);
  return it == zones_.end() ? utc_ : it->second;
}

rules::day calendar::day_of(std::string_view shop, std::int64_t epoch_ms) const {
  using namespace std::chrono;
  const auto instant = sys_time<milliseconds>(milliseconds(epoch_ms));
  const auto local = zone_of(shop)->to_local(instant);
  return static_cast<rules::day>(date::floor<date::days>(local).time_since_epoch().count());
}

std::int64_t calendar::start_of(std::string_view shop, rules::day d) const {
  using namespace std::chrono;
  const date::local_days local{date::days(d)};
  const auto* zone = zone_of(shop);
  const auto info = zone->get_info(local);
  sys_seconds start;
  if (info.result == date::local_info::nonexistent) start = info.first.end;  // midnight skipped
  else start = zone->to_sys(local, date::choose::earliest);
  return duration_cast<milliseconds>(start.time_since_epoch()).count();
}

}  // namespace shopsegd

// Shop-local calendar days: instants to civil days in a shop's IANA time zone and back (the
// shop-local midnight that starts a day). Zones are looked up once; thread-safe after
// construction.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config.hpp"
#include "rules/query.hpp"

namespace date {
class time_zone;
}

namespace shopsegd {

class calendar {
 public:
  explicit calendar(const config& cfg);
  rules::day day_of(std::string_view shop, std::int64_t epoch_ms) const;
  // The instant (Unix ms) at which `d` begins in the shop's zone (the earliest instant of that
  // local day when midnight is skipped by a DST change).
  std::int64_t start_of(std::string_view shop, rules::day d) const;

 private:
  const date::time_zone* zone_of(std::string_view shop) const;
  const date::time_zone* utc_;
  std::map<std::string, const date::time_zone*, std::less<>> zones_;
};

}  // namespace shopsegd

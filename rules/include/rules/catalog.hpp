// A shop's segment definitions and the membership rule of SPEC §3: a customer is a member of
// every matching segment without a tier, and of the matching tier segment with the lowest
// tier number only (tiers are exclusive).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/evaluate.hpp"

namespace rules {

struct segment_definition {
  std::string name;
  std::optional<int> tier;  // lower is higher; equal numbers are a config error (caller's check)
  std::shared_ptr<const query> q;  // shared: the daemon's config owns the parsed queries
};

struct membership {
  std::optional<std::size_t> tier;    // index of the winning tier segment
  std::vector<std::size_t> segments;  // indices of every membership (the tier included), in definition order
  friend bool operator==(const membership&, const membership&) = default;
};

membership evaluate_segments(const std::vector<segment_definition>& segments, const customer_facts& facts, day today);

// The earliest next-change day over all segments (see rules::next_change).
std::optional<day> next_change(const std::vector<segment_definition>& segments, const customer_facts& facts, day today);

}  // namespace rules

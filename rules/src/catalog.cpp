// Tier exclusivity and the combined next-change day.
#include "rules/catalog.hpp"

namespace rules {

membership evaluate_segments(const std::vector<segment_definition>& segments, const customer_facts& facts, day today) {
  membership m;
  std::vector<bool> matched(segments.size());
  for (std::size_t i = 0; i < segments.size(); ++i) {
    matched[i] = segments[i].q && matches(*segments[i].q, facts, today);
    if (matched[i] && segments[i].tier && (!m.tier || *segments[i].tier < *segments[*m.tier].tier)) m.tier = i;
  }
  for (std::size_t i = 0; i < segments.size(); ++i)
    if (matched[i] && (!segments[i].tier || m.tier == i)) m.segments.push_back(i);
  return m;
}

std::optional<day> next_change(const std::vector<segment_definition>& segments, const customer_facts& facts, day today) {
  std::optional<day> best;
  for (const auto& s : segments) {
    if (!s.q) continue;
    auto d = next_change(*s.q, facts, today);
    if (d && (!best || *d < *best)) best = d;
  }
  return best;
}

}  // namespace rules

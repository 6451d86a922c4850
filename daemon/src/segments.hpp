// The segment engine: evaluates the configured segments for the customers a commit touched,
// inside the writer's transaction, records membership changes in the change log with their
// cause, keeps each customer's next change time, re-evaluates due customers on the clock, and
// re-evaluates exactly the customers a percentile threshold crosses when a shop's spend
// distribution moves. Lives on the writer thread (not thread-safe); `facts_of` and
// `render_memberships` are pure and serve the query threads too.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "calendar.hpp"
#include "config.hpp"
#include "segment_counts.hpp"
#include "rules/catalog.hpp"
#include "spend_ranks.hpp"
#include "store/writer.hpp"

namespace shopsegd {

// A customer to re-evaluate and why (a webhook id, "clock", "reload", "import").
struct evaluation_request {
  store::customer_key key;
  std::string cause;
};

struct evaluation_stats {
  std::size_t evaluated = 0;      // customers evaluated, percentile crossings included
  std::size_t changes = 0;        // change-log entries written
  std::size_t by_percentile = 0;  // customers evaluated because a threshold moved
  std::optional<std::int64_t> earliest_next_change;  // the earliest next change written
};

// The customer's facts as the rules see them. `percentile` comes from spend_ranks.
rules::customer_facts facts_of(const store::customer_view& c, const std::vector<store::ledger_entry>& ledger,
                               const calendar& days, std::optional<rules::percentile_fact> percentile);

class segment_engine {
 public:
  explicit segment_engine(std::shared_ptr<const config> cfg);
  const config& cfg() const noexcept { return *cfg_; }
  const std::shared_ptr<const config>& cfg_ptr() const noexcept { return cfg_; }

  const calendar& days() const noexcept { return days_; }
  // Where joins and leaves are counted (may be null); owned by the caller.
  void set_counts(segment_counts* counts) noexcept { counts_ = counts; }

  // Loads every buyer's spend (only when some segment uses amount_spent_percentile).
  store::result<void> rebuild_ranks(store::writer& w);

  // Re-evaluates the customers, then any customer a moved percentile threshold crossed.
  // REQUIRES: inside the writer's open transaction.
  store::result<evaluation_stats> evaluate(store::writer& w, const std::vector<evaluation_request>& requests,
                                           std::int64_t now_ms);
  // Re-evaluates customers whose next change time has come (cause "clock"), at most `limit`.
  store::result<evaluation_stats> tick(store::writer& w, std::int64_t now_ms, int limit);

 private:
  struct threshold {
    rules::decimal value;
    bool strict;
  };
  store::result<bool> evaluate_one(store::writer& w, const store::customer_key& key, const std::string& cause,
                                   std::int64_t now_ms, evaluation_stats& stats);
  std::vector<std::optional<std::int64_t>> boundaries(const std::string& shop) const;

  std::shared_ptr<const config> cfg_;
  std::vector<rules::segment_definition> definitions_;  // the config's segments, for rules::evaluate_segments
  calendar days_;
  std::vector<threshold> thresholds_;  // every amount_spent_percentile literal, both rank rules
  spend_ranks ranks_;
  segment_counts* counts_ = nullptr;
};

// The tier (the winning tier segment's name), the memberships in config order, and the service
// attributes merged as SPEC §3 says: the tier's first, then the other segments' in config order
// (the first value of a key wins), then [default_service].
struct customer_segments {
  std::optional<std::string> tier;
  std::vector<std::string> segments;
  service_attributes service;
};
customer_segments resolve_segments(const config& cfg, const std::vector<std::string>& memberships);

}  // namespace shopsegd

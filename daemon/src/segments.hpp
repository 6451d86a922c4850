// The segment engine: evaluates the configured segments for the customers a commit touched,
// inside the writer's transaction, records membership changes in the change log with their
// cause, keeps each customer's next change time, re-evaluates due customers on the clock, and
// re-evaluates exactly the customers a percentile threshold crosses when a shop's spend
// distribution moves. Lives on the writer thread (not thread-safe), except judge_snapshot(),
// which a reload's worker thread calls beside it; `facts_of` and `render_memberships` are pure
// and serve the query threads too.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
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

// A reload's verdict for one customer, judged from a read snapshot off the writer thread
// (segment_engine::judge_snapshot) and applied by the writer (apply_reloaded).
struct reloaded_customer {
  store::customer_key key;
  std::optional<std::int64_t> spend;  // lifetime spend as a buyer (nullopt: no counting order)
  std::optional<std::int64_t> ranked_spend;  // the spend the percentile ranks held for it then
  std::vector<std::string> was_in, now_in;   // memberships in the snapshot and judged, sorted
  std::optional<std::int64_t> was_next, next_at;
  std::vector<std::optional<std::int64_t>>
      bounds;  // the percentile boundaries it was judged against
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

  // While a reload runs, two engines share the customers: the new one owns those the reload
  // passed, the old one the rest. A moved percentile threshold re-evaluates only customers
  // `owns` accepts (null: every customer); the others are the other engine's.
  void set_scope(std::function<bool(const store::customer_key&)> owns) { owns_ = std::move(owns); }
  // Where every customer this engine evaluates is appended (may be null), so that a reload can
  // tell which of its snapshot's customers were written after the snapshot.
  void set_written_log(std::vector<store::customer_key>* log) noexcept { written_ = log; }
  // Customers that another engine evaluated (their owner during a reload): this engine's ranks
  // follow their spends, and the customers of this engine's scope that a moved threshold
  // crosses are re-evaluated. REQUIRES: inside the writer's open transaction.
  store::result<evaluation_stats> follow_spends(store::writer& w,
                                                const std::vector<evaluation_request>& requests,
                                                std::int64_t now_ms);

  // A reload's worker thread: the verdict for a customer read from a snapshot (cause "reload").
  // Thread-safe beside the writer's use of this engine (the ranks are read under a lock).
  reloaded_customer judge_snapshot(const store::customer_with_ledger& c, std::int64_t now_ms) const;
  // The writer applies a batch of judged customers in key order (segments_reload.cpp, which
  // explains why this is exact). `written_since_snapshot` (sorted) are the customers of the
  // batch's key range that commits after its snapshot wrote: they, and any whose percentile
  // verdict the ranks have moved since, are evaluated from the writer's own reads; the others'
  // verdicts are written as judged. REQUIRES: inside the writer's open transaction.
  store::result<evaluation_stats> apply_reloaded(
      store::writer& w, const std::vector<reloaded_customer>& batch,
      const std::vector<store::customer_key>& written_since_snapshot, std::int64_t now_ms);

 private:
  struct threshold {
    rules::decimal value;
    bool strict;
  };
  struct verdict {
    std::vector<std::string> now_in;  // sorted
    std::optional<std::int64_t> next_at;
  };
  // What the rules say of the customer (pure; any thread).
  verdict judge(const store::customer_view& c, const std::vector<store::ledger_entry>& ledger,
                std::int64_t now_ms, std::optional<rules::percentile_fact> percentile) const;
  store::result<bool> evaluate_one(store::writer& w, const store::customer_key& key,
                                   const std::string& cause, std::int64_t now_ms,
                                   evaluation_stats& stats);
  // Counts the joins and leaves, notes the next change and the customer as written.
  void account(const store::customer_key& key, bool has_row, const std::vector<std::string>& joined,
               const std::vector<std::string>& left, const std::optional<std::int64_t>& next_at,
               evaluation_stats& stats);
  std::vector<std::optional<std::int64_t>> boundaries(const std::string& shop) const;
  // Whether a buyer spending `spend` is a member of some percentile comparison under one set
  // of boundaries and not under the other.
  static bool verdicts_differ(std::int64_t spend, const std::vector<std::optional<std::int64_t>>& x,
                              const std::vector<std::optional<std::int64_t>>& y);
  bool set_spend(const std::string& shop, store::id_t customer,
                 std::optional<std::int64_t> amount_minor);
  // One evaluation pass's percentile bookkeeping.
  struct pass {
    // Percentile boundaries before this pass moved any spend, per shop touched.
    std::map<std::string, std::vector<std::optional<std::int64_t>>> before;
    std::set<store::customer_key> done;
    std::map<std::string, std::string> moved;  // shop -> cause of its last spend change
    // The boundaries each customer of the pass was evaluated against: the spends of customers
    // after it in the pass may still move them.
    struct evaluated_against {
      store::customer_key key;
      std::string cause;
      std::vector<std::optional<std::int64_t>> bounds;
    };
    std::vector<evaluated_against> seen;
  };
  // Re-evaluates the customers a moved boundary crossed, in this engine's scope.
  store::result<void> cross(store::writer& w, pass& p, std::int64_t now_ms,
                            evaluation_stats& stats);

  std::shared_ptr<const config> cfg_;
  std::vector<rules::segment_definition> definitions_;  // the config's segments, for rules::evaluate_segments
  calendar days_;
  std::vector<threshold> thresholds_;  // every amount_spent_percentile literal, both rank rules
  // Written by the writer thread only; judge_snapshot() reads it from a reload's worker thread,
  // so the writer changes it under an exclusive lock (and reads it without one).
  spend_ranks ranks_;
  mutable std::shared_mutex ranks_mutex_;
  std::uint64_t ranks_version_ = 0;  // moves with every change of ranks_ (under the lock)
  segment_counts* counts_ = nullptr;
  std::function<bool(const store::customer_key&)> owns_;
  std::vector<store::customer_key>* written_ = nullptr;
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

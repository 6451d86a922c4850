// A reload split over two threads: a worker judges customers from read snapshots
// (judge_snapshot), the writer applies the verdicts (apply_reloaded) and writes only what moved.
//
// Why a verdict from a snapshot is the writer's own: the snapshot began after the commit the
// worker read from the writer's commit count, and every later commit that wrote a customer
// (a delivery, an import, a percentile crossing) names it in `written_since_snapshot`. A
// customer not named there holds, in the writer's transaction, exactly the row and ledger the
// worker read, so the rules say the same of it, except through the percentile ranks, which the
// writer moves meanwhile: the worker notes the customer's own entry in the ranks and the
// boundaries it was judged against, and the writer judges again when either no longer holds.
// A named customer, and one created after the snapshot in the batch's key range, is evaluated
// by the writer from its own reads. Either way the batch's customers hold the new definitions'
// memberships when the transaction commits, and from then on the new engine evaluates them.
#include <algorithm>
#include <mutex>

#include "segments.hpp"

namespace shopsegd {
namespace {
const store::customer_key& key_of(const reloaded_customer& c) {
  return c.key;
}
const store::customer_key& key_of(const store::customer_key& k) {
  return k;
}
}  // namespace

reloaded_customer segment_engine::judge_snapshot(const store::customer_with_ledger& c,
                                                 std::int64_t now_ms) const {
  const store::customer_view& v = c.view;
  reloaded_customer out;
  out.key = {v.shop, v.customer_id};
  if (v.totals.number_of_orders > 0) out.spend = v.totals.amount_spent_minor;
  std::optional<rules::percentile_fact> percentile;
  if (!thresholds_.empty()) {
    std::shared_lock lock(ranks_mutex_);
    out.ranked_spend = ranks_.spend_of(v.shop, v.customer_id);
    percentile = ranks_.percentile(v.shop, v.totals.amount_spent_minor);
    out.bounds = boundaries(v.shop);
  }
  verdict judged = judge(v, c.ledger, now_ms, percentile);
  out.now_in = std::move(judged.now_in);
  out.next_at = judged.next_at;
  out.was_in = v.segments;
  out.was_next = v.next_change_at_ms;
  return out;
}

store::result<evaluation_stats> segment_engine::apply_reloaded(
    store::writer& w, const std::vector<reloaded_customer>& batch,
    const std::vector<store::customer_key>& written_since_snapshot, std::int64_t now_ms) {
  static const std::string cause = "reload";
  evaluation_stats stats;
  pass p;
  const bool ranked = !thresholds_.empty();
  // The boundaries as they stand, recomputed only when the ranks moved.
  std::map<std::string, std::pair<std::uint64_t, std::vector<std::optional<std::int64_t>>>,
           std::less<>>
      current;
  auto bounds_now =
      [&](const std::string& shop) -> const std::vector<std::optional<std::int64_t>>& {
    auto [it, fresh] = current.try_emplace(shop);
    if (fresh || it->second.first != ranks_version_)
      it->second = {ranks_version_, boundaries(shop)};
    return it->second.second;
  };
  if (ranked) {
    for (const auto& c : batch) p.before.try_emplace(c.key.shop, bounds_now(c.key.shop));
    for (const auto& k : written_since_snapshot) p.before.try_emplace(k.shop, bounds_now(k.shop));
  }
  auto written = [&](const store::customer_key& k) {
    return std::binary_search(written_since_snapshot.begin(), written_since_snapshot.end(), k);
  };
  auto evaluate_here = [&](const store::customer_key& k) -> store::result<void> {
    auto spend_moved = evaluate_one(w, k, cause, now_ms, stats);
    if (!spend_moved) return spend_moved.error();
    if (*spend_moved) p.moved[k.shop] = cause;
    return {};
  };
  std::vector<std::string> joined, left;
  for (const auto& c : batch) {
    bool again = written(c.key);
    if (!again && ranked) {
      again = c.ranked_spend != c.spend ||
              ranks_.spend_of(c.key.shop, c.key.customer_id) != c.spend ||
              (c.spend && verdicts_differ(*c.spend, c.bounds, bounds_now(c.key.shop)));
    }
    if (again) {
      if (auto r = evaluate_here(c.key); !r) return r.error();
    } else {
      joined.clear();
      left.clear();
      std::set_difference(c.now_in.begin(), c.now_in.end(), c.was_in.begin(), c.was_in.end(),
                          std::back_inserter(joined));
      std::set_difference(c.was_in.begin(), c.was_in.end(), c.now_in.begin(), c.now_in.end(),
                          std::back_inserter(left));
      auto has_row = w.record_reloaded(c.key.shop, c.key.customer_id, c.now_in,
                                       !joined.empty() || !left.empty(), c.was_next != c.next_at,
                                       c.next_at, joined, left, cause, now_ms);
      if (!has_row) return has_row.error();
      // No row: erased since the snapshot by something that did not name it (a shop's
      // erasure); nothing is left to count.
      if (*has_row) account(c.key, true, joined, left, c.next_at, stats);
    }
    if (ranked) {
      p.done.insert(c.key);
      p.seen.push_back({c.key, cause, bounds_now(c.key.shop)});
    }
  }
  // Customers written since the snapshot that it did not hold (created after it).
  for (const auto& k : written_since_snapshot) {
    if (std::binary_search(batch.begin(), batch.end(), k,
                           [](const auto& a, const auto& b) { return key_of(a) < key_of(b); }))
      continue;
    if (auto r = evaluate_here(k); !r) return r.error();
    if (ranked) {
      p.done.insert(k);
      p.seen.push_back({k, cause, bounds_now(k.shop)});
    }
  }
  if (auto r = cross(w, p, now_ms, stats); !r) return r.error();
  return stats;
}

}  // namespace shopsegd

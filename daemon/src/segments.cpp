// Segment evaluation on the writer thread. Facts are read through the writer's own connection
// so they include the rows of the transaction being built: a 200 is sent only after the
// commit that also holds the new memberships.
#include "segments.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

#include "live_config.hpp"
#include "shopify/money.hpp"

namespace shopsegd {
namespace {

std::optional<std::string> email_domain(const std::optional<std::string>& email) {
  if (!email) return std::nullopt;
  auto at = email->rfind('@');
  if (at == std::string::npos || at + 1 == email->size()) return std::nullopt;
  std::string domain = email->substr(at + 1);
  for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return domain;
}

std::optional<std::string> upper(const std::optional<std::string>& s) {
  if (!s || s->empty()) return std::nullopt;
  std::string out = *s;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

void collect_thresholds(const rules::query& q, std::vector<rules::decimal>& out) {
  for (const auto& d : rules::percentile_thresholds(q)) {
    const bool seen = std::any_of(out.begin(), out.end(), [&](const rules::decimal& e) {
      return e.mantissa == d.mantissa && e.scale == d.scale;
    });
    if (!seen) out.push_back(d);
  }
}

}  // namespace

rules::customer_facts facts_of(const store::customer_view& c, const std::vector<store::ledger_entry>& ledger,
                               const calendar& days, std::optional<rules::percentile_fact> percentile) {
  rules::customer_facts f;
  f.currency_exponent = shopify::currency_exponent(c.totals.currency);
  f.amount_spent_minor = c.totals.amount_spent_minor;
  f.number_of_orders = c.totals.number_of_orders;
  if (c.totals.first_order_at_ms) f.first_order_day = days.day_of(c.shop, *c.totals.first_order_at_ms);
  if (c.totals.last_order_at_ms) f.last_order_day = days.day_of(c.shop, *c.totals.last_order_at_ms);
  if (c.created_at_ms) f.added_day = days.day_of(c.shop, *c.created_at_ms);
  if (c.totals.number_of_orders > 0) {
    f.largest_order_minor = c.totals.largest_order_minor;
    f.percentile = percentile;
  }
  f.tags = c.tags;
  f.email_domain = email_domain(c.email);
  f.account_status = upper(c.state);
  f.orders.reserve(ledger.size());
  for (const auto& e : ledger) f.orders.push_back({days.day_of(c.shop, e.processed_at_ms), e.net_amount_minor});
  return f;
}

segment_engine::segment_engine(std::shared_ptr<const config> cfg) : cfg_(std::move(cfg)), days_(*cfg_) {
  std::vector<rules::decimal> literals;
  for (const auto& s : cfg_->segments) {
    definitions_.push_back({s.name, s.tier, s.query});
    if (s.query) collect_thresholds(*s.query, literals);
  }
  for (const auto& d : literals) {
    thresholds_.push_back({d, false});
    thresholds_.push_back({d, true});
  }
}

store::result<void> segment_engine::rebuild_ranks(store::writer& w) {
  std::unique_lock lock(ranks_mutex_);
  ++ranks_version_;
  ranks_ = spend_ranks();
  if (thresholds_.empty()) return {};
  auto buyers = w.buyers();
  if (!buyers) return buyers.error();
  for (const auto& b : *buyers) ranks_.set(b.shop, b.customer_id, b.amount_spent_minor);
  return {};
}

bool segment_engine::set_spend(const std::string& shop, store::id_t customer,
                               std::optional<std::int64_t> amount_minor) {
  if (thresholds_.empty()) return false;
  if (ranks_.spend_of(shop, customer) == amount_minor) return false;  // no lock for what stays
  std::unique_lock lock(ranks_mutex_);
  ++ranks_version_;
  return ranks_.set(shop, customer, amount_minor);
}

std::vector<std::optional<std::int64_t>> segment_engine::boundaries(const std::string& shop) const {
  std::vector<std::optional<std::int64_t>> out;
  for (const auto& t : thresholds_) out.push_back(ranks_.boundary(shop, t.value, t.strict));
  return out;
}

segment_engine::verdict segment_engine::judge(
    const store::customer_view& c, const std::vector<store::ledger_entry>& ledger,
    std::int64_t now_ms, std::optional<rules::percentile_fact> percentile) const {
  verdict out;
  const auto facts = facts_of(c, ledger, days_, percentile);
  const rules::day today = days_.day_of(c.shop, now_ms);
  const rules::membership m = rules::evaluate_segments(definitions_, facts, today);
  for (std::size_t i : m.segments) out.now_in.push_back(definitions_[i].name);
  std::sort(out.now_in.begin(), out.now_in.end());
  if (const std::optional<rules::day> next = rules::next_change(definitions_, facts, today))
    out.next_at = days_.start_of(c.shop, *next);
  return out;
}

void segment_engine::account(const store::customer_key& key, bool has_row,
                             const std::vector<std::string>& joined,
                             const std::vector<std::string>& left,
                             const std::optional<std::int64_t>& next_at, evaluation_stats& stats) {
  ++stats.evaluated;
  stats.changes += joined.size() + left.size();
  if (counts_) {
    for (const auto& s : joined) counts_->add(key.shop, s, 1);
    for (const auto& s : left) counts_->add(key.shop, s, -1);
  }
  if (has_row && next_at && (!stats.earliest_next_change || *next_at < *stats.earliest_next_change))
    stats.earliest_next_change = next_at;
  if (written_) written_->push_back(key);
}

store::result<bool> segment_engine::evaluate_one(store::writer& w, const store::customer_key& key,
                                                 const std::string& cause, std::int64_t now_ms,
                                                 evaluation_stats& stats) {
  auto customer = w.customer(key.shop, key.customer_id);
  if (!customer) return {boost::system::in_place_error, customer.error()};
  verdict v;
  bool spend_moved = false;
  if (*customer) {
    auto ledger = w.ledger(key.shop, key.customer_id);
    if (!ledger) return {boost::system::in_place_error, ledger.error()};
    const auto& c = **customer;
    std::optional<rules::percentile_fact> percentile;
    if (!thresholds_.empty()) {
      spend_moved =
          set_spend(key.shop, key.customer_id,
                    c.totals.number_of_orders > 0 ? std::optional(c.totals.amount_spent_minor)
                                                  : std::nullopt);
      percentile = ranks_.percentile(key.shop, c.totals.amount_spent_minor);
    }
    v = judge(c, *ledger, now_ms, percentile);
  } else {
    spend_moved = set_spend(key.shop, key.customer_id, std::nullopt);
  }
  const std::vector<std::string> was_in =
      *customer ? (*customer)->segments : w.departed_memberships(key.shop, key.customer_id);
  std::vector<std::string> joined, left;
  std::set_difference(v.now_in.begin(), v.now_in.end(), was_in.begin(), was_in.end(),
                      std::back_inserter(joined));
  std::set_difference(was_in.begin(), was_in.end(), v.now_in.begin(), v.now_in.end(),
                      std::back_inserter(left));
  if (*customer || !left.empty()) {
    if (auto r = w.record_segments(key.shop, key.customer_id, v.now_in, joined, left, v.next_at,
                                   cause, now_ms);
        !r)
      return {boost::system::in_place_error, r.error()};
  }
  account(key, customer->has_value(), joined, left, v.next_at, stats);
  return spend_moved;
}

// Members of a percentile comparison are the buyers whose spend exceeds its boundary.
namespace {
constexpr auto lowest = std::numeric_limits<std::int64_t>::min();
}  // namespace

bool segment_engine::verdicts_differ(std::int64_t spend,
                                     const std::vector<std::optional<std::int64_t>>& x,
                                     const std::vector<std::optional<std::int64_t>>& y) {
  for (std::size_t i = 0; i < x.size(); ++i)
    if ((spend > x[i].value_or(lowest)) != (spend > y[i].value_or(lowest))) return true;
  return false;
}

store::result<void> segment_engine::cross(store::writer& w, pass& p, std::int64_t now_ms,
                                          evaluation_stats& stats) {
  for (const auto& [shop, cause] : p.moved) {
    const auto after = boundaries(shop);
    // A moved boundary flips exactly the buyers outside the pass whose spend lies between the
    // old and new one: their memberships were decided against the old boundaries.
    const auto& old = p.before[shop];
    std::set<store::id_t> crossed;
    for (std::size_t i = 0; i < after.size(); ++i) {
      if (old[i] == after[i]) continue;
      const std::int64_t a = old[i].value_or(lowest), b = after[i].value_or(lowest);
      for (store::id_t id : ranks_.between(shop, std::min(a, b), std::max(a, b))) {
        const store::customer_key key{shop, id};
        if (p.done.count(key) || (owns_ && !owns_(key)) || !crossed.insert(id).second) continue;
        auto r = evaluate_one(w, key, cause, now_ms, stats);
        if (!r) return r.error();
        ++stats.by_percentile;
      }
    }
    // A customer of the pass whose verdict differs under the final boundaries is evaluated
    // again (its first answer may then be logged and undone in the same commit).
    for (const auto& s : p.seen) {
      if (s.key.shop != shop || s.bounds == after) continue;
      const auto spend = ranks_.spend_of(shop, s.key.customer_id);
      if (!spend || !verdicts_differ(*spend, s.bounds, after)) continue;
      auto r = evaluate_one(w, s.key, s.cause, now_ms, stats);
      if (!r) return r.error();
      ++stats.by_percentile;
    }
  }
  return {};
}

store::result<evaluation_stats> segment_engine::evaluate(
    store::writer& w, const std::vector<evaluation_request>& requests, std::int64_t now_ms) {
  evaluation_stats stats;
  if (cfg_->segments.empty()) return stats;
  pass p;
  if (!thresholds_.empty())
    for (const auto& r : requests) p.before.try_emplace(r.key.shop, boundaries(r.key.shop));
  for (const auto& r : requests) {
    if (!p.done.insert(r.key).second) continue;
    auto spend_moved = evaluate_one(w, r.key, r.cause, now_ms, stats);
    if (!spend_moved) return spend_moved.error();
    if (*spend_moved) p.moved[r.key.shop] = r.cause;
    if (!thresholds_.empty()) p.seen.push_back({r.key, r.cause, boundaries(r.key.shop)});
  }
  if (auto r = cross(w, p, now_ms, stats); !r) return r.error();
  return stats;
}

store::result<evaluation_stats> segment_engine::follow_spends(
    store::writer& w, const std::vector<evaluation_request>& requests, std::int64_t now_ms) {
  evaluation_stats stats;
  if (thresholds_.empty()) return stats;
  pass p;
  for (const auto& r : requests) p.before.try_emplace(r.key.shop, boundaries(r.key.shop));
  for (const auto& r : requests) {
    auto c = w.customer(r.key.shop, r.key.customer_id);
    if (!c) return c.error();
    const bool buyer = *c && (*c)->totals.number_of_orders > 0;
    if (set_spend(r.key.shop, r.key.customer_id,
                  buyer ? std::optional((*c)->totals.amount_spent_minor) : std::nullopt))
      p.moved[r.key.shop] = r.cause;
  }
  if (auto r = cross(w, p, now_ms, stats); !r) return r.error();
  return stats;
}

store::result<evaluation_stats> segment_engine::tick(store::writer& w, std::int64_t now_ms, int limit) {
  auto due = w.due_customers(now_ms, limit);
  if (!due) return due.error();
  std::vector<evaluation_request> requests;
  requests.reserve(due->size());
  for (auto& key : *due) requests.push_back({std::move(key), "clock"});
  return evaluate(w, requests, now_ms);
}

std::string segments_fingerprint(const config& cfg) {
  std::string out;
  for (const auto& s : cfg.segments)
    out += s.name + "\x1f" + (s.tier ? std::to_string(*s.tier) : "") + "\x1f" + s.query_text + "\x1e";
  std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a: stable across builds and versions
  for (unsigned char c : out) hash = (hash ^ c) * 1099511628211ULL;
  return std::to_string(hash) + ":" + std::to_string(cfg.segments.size());
}

customer_segments resolve_segments(const config& cfg, const std::vector<std::string>& memberships) {
  customer_segments out;
  std::vector<const segment_config*> in;
  for (const auto& s : cfg.segments) {
    if (std::find(memberships.begin(), memberships.end(), s.name) == memberships.end()) continue;
    out.segments.push_back(s.name);
    in.push_back(&s);
    if (s.tier) out.tier = s.name;
  }
  auto add = [&](const service_attributes& attrs) {
    for (const auto& kv : attrs) {  // not a structured binding: clang 14 cannot capture one
      const bool seen = std::any_of(out.service.begin(), out.service.end(), [&](const auto& e) { return e.first == kv.first; });
      if (!seen) out.service.emplace_back(kv.first, kv.second);
    }
  };
  for (const auto* s : in)
    if (s->tier) add(s->service);
  for (const auto* s : in)
    if (!s->tier) add(s->service);
  for (const auto& [k, v] : cfg.default_service) add({{k, v}});
  return out;
}

}  // namespace shopsegd

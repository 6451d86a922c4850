// Customer mutations: versioned profiles, the tag fold, deletes, merges and Shopify's summary.
#include <algorithm>

#include "customer_reads.hpp"
#include "writer_impl.hpp"

namespace store {
namespace {

std::string normalize_tag(std::string_view tag) {
  const auto first = tag.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = tag.find_last_not_of(" \t\r\n");
  return detail::ascii_lower(tag.substr(first, last - first + 1));
}

}  // namespace

void detail::fold_tag_event(std::vector<std::string>& tags, std::string_view kind,
                            std::string_view joined) {
  std::vector<std::string> event_tags = split_tags(joined);
  if (kind == "set") {
    tags = std::move(event_tags);
    return;
  }
  for (std::string& tag : event_tags) {
    auto at = std::lower_bound(tags.begin(), tags.end(), tag);
    const bool present = at != tags.end() && *at == tag;
    if (kind == "add" && !present) tags.insert(at, std::move(tag));
    if (kind == "remove" && present) tags.erase(at);
  }
}

namespace {

// Recomputes the customer's tags from its events in time order, then drops events that a newer
// full set makes irrelevant. Equal times fold set, add, remove, in that order, so the result
// does not depend on arrival order.
result<void> refold_tags(detail::writer_state& w, std::string_view shop, id_t customer_id) {
  std::vector<std::string> tags;
  {
    auto s = w.stmt(
        "SELECT kind, tags FROM tag_events WHERE shop = ?1 AND customer_id = ?2 ORDER BY at_ms, "
        "CASE kind WHEN 'set' THEN 0 WHEN 'add' THEN 1 ELSE 2 END, tags");
    if (!s) return s.error();
    detail::query q(*s);
    q.bind_text(1, shop).bind_id(2, customer_id);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      detail::fold_tag_event(tags, q.text_at(0), q.text_at(1));
    }
  }
  STORE_TRY(w.run_shop_id(
      "DELETE FROM tag_events WHERE shop = ?1 AND customer_id = ?2 AND at_ms < (SELECT max(at_ms) "
      "FROM tag_events WHERE shop = ?1 AND customer_id = ?2 AND kind = 'set')",
      shop, customer_id));
  const std::string joined = join_tags(std::move(tags));
  auto s = w.stmt("UPDATE customers SET tags = ?3 WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, shop).bind_id(2, customer_id).bind_text(3, joined).run();
}

// The customer a delivery applies to, or nullopt when it was deleted or redacted.
result<std::optional<id_t>> live_customer(detail::writer_state& w, std::string_view shop,
                                          id_t customer_id) {
  STORE_TRY(w.settle_views());
  return w.live_customer(shop, customer_id);
}

}  // namespace

std::string join_tags(std::vector<std::string> tags) {
  for (std::string& tag : tags) tag = normalize_tag(tag);
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  std::string joined;
  for (const std::string& tag : tags) {
    if (tag.empty()) continue;
    if (!joined.empty()) joined += ',';
    joined += tag;
  }
  return joined;
}

std::vector<std::string> split_tags(std::string_view joined) {
  std::vector<std::string> tags;
  while (!joined.empty()) {
    const auto comma = joined.find(',');
    tags.emplace_back(joined.substr(0, comma));
    if (comma == std::string_view::npos) break;
    joined.remove_prefix(comma + 1);
  }
  return tags;
}

result<id_t> detail::writer_state::resolve_alias(std::string_view shop, id_t customer_id) {
  return read_kept_id(*db, shop, customer_id);
}

result<std::optional<id_t>> detail::writer_state::live_customer(std::string_view shop, id_t customer_id) {
  // resolve_alias and customer_tombstoned in one statement: every order delivery asks.
  auto s = stmt(
      "SELECT coalesce((SELECT kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id = ?2), ?2), "
      "EXISTS(SELECT 1 FROM customer_tombstones WHERE shop = ?1 AND customer_id = "
      "coalesce((SELECT kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id = ?2), ?2))");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row || q.int_at(1) != 0) return std::optional<id_t>();
  return std::optional<id_t>(q.id_at(0));
}

result<bool> detail::writer_state::customer_tombstoned(std::string_view shop, id_t customer_id) {
  auto s = stmt("SELECT 1 FROM customer_tombstones WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return {boost::system::in_place_error, s.error()};
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  return q.step();
}

result<void> detail::writer_state::ensure_customer(std::string_view shop, id_t customer_id) {
  return run_shop_id("INSERT OR IGNORE INTO customers(shop, customer_id) VALUES(?1, ?2)", shop,
                     customer_id);
}

result<void> detail::writer_state::tombstone_customer(std::string_view shop, id_t customer_id,
                                              std::int64_t at_ms, std::string_view kind) {
  auto s = stmt(
      "INSERT INTO customer_tombstones(shop, customer_id, at_ms, kind) VALUES(?1, ?2, ?3, ?4) "
      "ON CONFLICT DO UPDATE SET kind = excluded.kind, at_ms = excluded.at_ms "
      "WHERE excluded.kind = 'redacted'");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, shop).bind_id(2, customer_id).bind_int(3, at_ms).bind_text(4, kind).run();
}

result<void> detail::writer_state::sync_lookup_keys(std::string_view shop, id_t customer_id) {
  // Assigning an indexed column rewrites its index entry even when the value is unchanged, so
  // the lookup indexes are written only when the email or the phone changed: one random page
  // less per delivery.
  return run_shop_id(
      "UPDATE customers SET email_lower = lower(email), phone_key = shopseg_phone_key(phone) "
      "WHERE shop = ?1 AND customer_id = ?2 AND (email_lower IS NOT lower(email) OR "
      "phone_key IS NOT shopseg_phone_key(phone))",
      shop, customer_id);
}

result<bool> detail::writer_state::record_tag_event(std::string_view shop, id_t customer_id,
                                            std::int64_t at_ms, std::string_view kind,
                                            const std::vector<std::string>& tags) {
  const std::string joined = join_tags(tags);
  {
    auto s = stmt(
        "INSERT OR IGNORE INTO tag_events(shop, customer_id, at_ms, kind, tags) "
        "VALUES(?1, ?2, ?3, ?4, ?5)");
    if (!s) return {boost::system::in_place_error, s.error()};
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, customer_id).bind_int(3, at_ms).bind_text(4, kind)
                  .bind_text(5, joined).run());
  }
  if (db->changes() == 0) return false;
  STORE_TRY(refold_tags(*this, shop, customer_id));
  return true;
}

result<outcome> writer::upsert_customer(std::string_view shop, const profile_record& profile,
                                        profile_source source) {
  auto live = live_customer(*impl_, shop, profile.customer_id);
  if (!live) return live.error();
  // A customer merged into another is gone like a deleted one: its profile and tags were
  // dropped with its row, so a late payload of it changes nothing (not the kept customer).
  if (!*live || **live != profile.customer_id) return outcome::tombstoned;
  const id_t customer_id = **live;
  auto applied = impl_->apply_profile(shop, customer_id, profile, source);
  if (!applied) return applied.error();
  bool changed = *applied == outcome::applied;
  // Tags are a full set at the payload's version, folded with tag events by time, so they are
  // recorded even when the profile fields are stale.
  if (source == profile_source::customer_payload && profile.tags) {
    STORE_TRY(impl_->ensure_customer(shop, customer_id));
    auto recorded =
        impl_->record_tag_event(shop, customer_id, profile.updated_at_ms, "set", *profile.tags);
    if (!recorded) return recorded.error();
    changed = changed || *recorded;
  }
  if (!changed) return outcome::stale;
  impl_->touch(shop, customer_id);
  return outcome::applied;
}

result<outcome> writer::change_tags(std::string_view shop, id_t customer_id, bool added,
                                    const std::vector<std::string>& tags,
                                    std::int64_t occurred_at_ms) {
  auto live = live_customer(*impl_, shop, customer_id);
  if (!live) return live.error();
  // Merged away: its tag events were dropped with its row (see upsert_customer).
  if (!*live || **live != customer_id) return outcome::tombstoned;
  STORE_TRY(impl_->ensure_customer(shop, **live));
  auto recorded =
      impl_->record_tag_event(shop, **live, occurred_at_ms, added ? "add" : "remove", tags);
  if (!recorded) return recorded.error();
  if (!*recorded) return outcome::stale;
  impl_->touch(shop, **live);
  return outcome::applied;
}

result<outcome> writer::delete_customer(std::string_view shop, id_t customer_id) {
  STORE_TRY(impl_->settle_views());
  auto tombstoned = impl_->customer_tombstoned(shop, customer_id);
  if (!tombstoned) return tombstoned.error();
  if (*tombstoned) return outcome::tombstoned;
  const std::int64_t now = wall_clock_ms();
  STORE_TRY(impl_->remember_departure(shop, customer_id));
  {
    auto s = impl_->stmt(
        "INSERT OR IGNORE INTO order_tombstones(shop, order_id, deleted_at_ms) "
        "SELECT shop, order_id, ?3 FROM orders WHERE shop = ?1 AND customer_id = ?2");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, customer_id).bind_int(3, now).run());
  }
  for (const char* sql : {
           "DELETE FROM refunds WHERE shop = ?1 AND order_id IN "
           "(SELECT order_id FROM orders WHERE shop = ?1 AND customer_id = ?2)",
           "DELETE FROM orders WHERE shop = ?1 AND customer_id = ?2",
           "DELETE FROM customers WHERE shop = ?1 AND customer_id = ?2",
           "DELETE FROM tag_events WHERE shop = ?1 AND customer_id = ?2",
       }) {
    STORE_TRY(impl_->run_shop_id(sql, shop, customer_id));
  }
  STORE_TRY(impl_->tombstone_customer(shop, customer_id, now, "deleted"));
  impl_->touch(shop, customer_id);
  return outcome::applied;
}

result<outcome> writer::merge_customers(std::string_view shop, id_t kept_id, id_t deleted_id) {
  auto kept = live_customer(*impl_, shop, kept_id);
  if (!kept) return kept.error();
  if (!*kept) return outcome::tombstoned;
  if (**kept == deleted_id) return outcome::stale;  // merging into itself
  auto merged = impl_->resolve_alias(shop, deleted_id);
  if (!merged) return merged.error();
  if (*merged == **kept) return outcome::stale;  // this merge was applied before
  auto gone = impl_->customer_tombstoned(shop, deleted_id);
  if (!gone) return gone.error();
  if (*gone) return outcome::tombstoned;
  const id_t into = **kept;
  {
    auto s = impl_->stmt(
        "UPDATE orders SET customer_id = ?3 WHERE shop = ?1 AND customer_id = ?2");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, deleted_id).bind_id(3, into).run());
  }
  {
    // Earlier merges into the deleted customer now point at the kept one: one hop always.
    auto s = impl_->stmt(
        "UPDATE customer_aliases SET kept_id = ?3 WHERE shop = ?1 AND kept_id = ?2");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, deleted_id).bind_id(3, into).run());
  }
  {
    auto s = impl_->stmt(
        "INSERT OR REPLACE INTO customer_aliases(shop, deleted_id, kept_id) VALUES(?1, ?2, ?3)");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, deleted_id).bind_id(3, into).run());
  }
  STORE_TRY(impl_->ensure_customer(shop, into));
  STORE_TRY(impl_->remember_departure(shop, deleted_id));
  STORE_TRY(impl_->run_shop_id("DELETE FROM customers WHERE shop = ?1 AND customer_id = ?2",
                               shop, deleted_id));
  STORE_TRY(impl_->run_shop_id("DELETE FROM tag_events WHERE shop = ?1 AND customer_id = ?2",
                               shop, deleted_id));
  STORE_TRY(impl_->tombstone_customer(shop, deleted_id, wall_clock_ms(), "deleted"));
  impl_->touch(shop, into);
  impl_->touch(shop, deleted_id);
  return outcome::applied;
}

result<outcome> writer::record_purchasing_summary(std::string_view shop, id_t customer_id,
                                                  std::int64_t amount_spent_minor,
                                                  std::string_view currency,
                                                  std::int64_t number_of_orders,
                                                  std::int64_t occurred_at_ms) {
  auto live = live_customer(*impl_, shop, customer_id);
  if (!live) return live.error();
  // Merged away: the summary described the customer merged into another (see upsert_customer).
  if (!*live || **live != customer_id) return outcome::tombstoned;
  STORE_TRY(impl_->ensure_customer(shop, **live));
  auto s = impl_->stmt(
      "UPDATE customers SET shopify_amount_spent_minor = ?3, shopify_currency = ?4, "
      "shopify_number_of_orders = ?5, shopify_summary_at_ms = ?6 WHERE shop = ?1 AND "
      "customer_id = ?2 AND (shopify_summary_at_ms IS NULL OR shopify_summary_at_ms < ?6)");
  if (!s) return s.error();
  {
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, **live).bind_int(3, amount_spent_minor)
                  .bind_text(4, currency).bind_int(5, number_of_orders)
                  .bind_int(6, occurred_at_ms).run());
  }
  if (impl_->db->changes() == 0) return outcome::stale;
  impl_->touch(shop, **live);
  return outcome::applied;
}

}  // namespace store

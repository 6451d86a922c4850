// Order mutations: versioned upserts, deletes with tombstones, refunds.
#include "writer_impl.hpp"

namespace store {
namespace {

struct stored_order {
  std::int64_t updated_at_ms = 0;
  std::optional<id_t> customer_id;
};

result<std::optional<stored_order>> find_order(detail::writer_state& w, std::string_view shop,
                                               id_t order_id) {
  auto s = w.stmt("SELECT updated_at_ms, customer_id FROM orders WHERE shop = ?1 AND order_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, order_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<stored_order>();
  stored_order found{q.int_at(0), std::nullopt};
  if (!q.null_at(1)) found.customer_id = q.id_at(1);
  return std::optional<stored_order>(found);
}

result<void> store_order(detail::writer_state& w, std::string_view shop, const order_record& order,
                         std::optional<id_t> customer_id) {
  auto s = w.stmt(
      "INSERT OR REPLACE INTO orders(shop, order_id, customer_id, name, updated_at_ms, "
      "created_at_ms, processed_at_ms, net_amount_minor, currency, test, cancelled_at_ms, "
      "financial_status, fulfillment_status, email) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, order.order_id);
  if (customer_id) {
    q.bind_id(3, *customer_id);
  } else {
    q.bind_null(3);
  }
  return q.bind_text(4, order.name).bind_int(5, order.updated_at_ms)
      .bind_int(6, order.created_at_ms).bind_int(7, order.processed_at_ms)
      .bind_int(8, order.net_amount_minor).bind_text(9, order.currency)
      .bind_int(10, order.test ? 1 : 0).bind_opt_int(11, order.cancelled_at_ms)
      .bind_text(12, order.financial_status).bind_text(13, order.fulfillment_status)
      .bind_text(14, order.email).run();
}

// The customer an order belongs to: the kept id after a merge; none (a guest order) when the
// customer was deleted or redacted, so an erased customer never reappears through its orders.
result<std::optional<id_t>> owner_of(detail::writer_state& w, std::string_view shop,
                                     std::optional<id_t> customer_id) {
  if (!customer_id) return std::optional<id_t>();
  return w.live_customer(shop, *customer_id);
}

struct order_state {
  bool tombstoned = false;
  std::optional<stored_order> stored;
};

// The order's tombstone and stored version in one statement (an upsert's first question).
result<order_state> find_order_state(detail::writer_state& w, std::string_view shop, id_t order_id) {
  auto s = w.stmt(
      "SELECT updated_at_ms, customer_id, 0 FROM orders WHERE shop = ?1 AND order_id = ?2 "
      "UNION ALL SELECT NULL, NULL, 1 FROM order_tombstones WHERE shop = ?1 AND order_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, order_id);
  order_state state;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return state;
    if (q.int_at(2) != 0) {
      state.tombstoned = true;
      continue;
    }
    state.stored = stored_order{q.int_at(0), std::nullopt};
    if (!q.null_at(1)) state.stored->customer_id = q.id_at(1);
  }
}

}  // namespace

namespace {

bool says_nothing(const profile_record& p) {
  return p.updated_at_ms == 0 && !p.email && !p.phone && !p.first_name && !p.last_name &&
         !p.state && !p.created_at_ms;
}

// What an order payload says about its customer, whatever becomes of the order itself: the
// customer exists, and the nested customer is a profile record of its own, versioned by the
// customer's updated_at (docs/profile_versions.md). So a stale or deleted order's payload
// leaves the customer as it would have had it arrived first. A nested customer of an id
// merged into `owner` describes the customer merged away and is not applied. True when the
// customer's row changed.
result<bool> apply_order_customer(detail::writer_state& w, std::string_view shop, id_t owner,
                                  const order_record& order, const profile_record* nested) {
  if (nested && order.customer_id == owner) {
    auto profiled = w.apply_profile(shop, owner, *nested, profile_source::order_payload);
    if (!profiled) return {boost::system::in_place_error, profiled.error()};
    return *profiled == outcome::applied;
  }
  if (auto ensured = w.ensure_customer(shop, owner); !ensured)
    return {boost::system::in_place_error, ensured.error()};
  return w.db->changes() > 0;
}

}  // namespace

result<outcome> writer::upsert_order(std::string_view shop, const order_record& order,
                                     const profile_record* nested_customer) {
  // A nested customer of no field and no version (the id alone, as an import's order under its
  // customer line arrives) says only that the customer exists: the same as none.
  if (nested_customer && says_nothing(*nested_customer)) nested_customer = nullptr;
  // Profiles other deliveries left pending stay so: the version guard reads orders only.
  STORE_TRY(impl_->settle_views(/*keep_profiles=*/true));
  auto state = find_order_state(*impl_, shop, order.order_id);
  if (!state) return state.error();
  const std::optional<stored_order>& stored = state->stored;
  const bool newer =
      !state->tombstoned && !(stored && stored->updated_at_ms >= order.updated_at_ms);

  const outcome unchanged = state->tombstoned ? outcome::tombstoned : outcome::stale;
  // A stale version naming the customer the stored one names (a re-import, a retry): that
  // customer has a row and is live, since deletes and merges remove or move its orders, so
  // only a nested customer can change it.
  const bool same_owner =
      !newer && stored && stored->customer_id && stored->customer_id == order.customer_id;
  if (same_owner && !nested_customer) return unchanged;
  auto owner = same_owner ? result<std::optional<id_t>>(stored->customer_id)
                          : owner_of(*impl_, shop, order.customer_id);
  if (!owner) return owner.error();
  if (!newer) {
    if (!*owner) return unchanged;
    // Whether the nested customer changes the row decides the outcome: the row as it stands.
    STORE_TRY(impl_->flush_profiles());
    auto changed = apply_order_customer(*impl_, shop, **owner, order, nested_customer);
    if (!changed) return changed.error();
    if (!*changed) return unchanged;
    impl_->touch(shop, **owner);
    return outcome::applied;
  }
  STORE_TRY(store_order(*impl_, shop, order, *owner));
  if (stored && stored->customer_id && stored->customer_id != *owner) {
    impl_->touch(shop, *stored->customer_id);
  }
  if (!*owner) return outcome::applied;
  // The outcome is applied whatever the nested customer changes, so an existing row takes it
  // at the refresh, in the one write of the row's aggregates.
  if (nested_customer && order.customer_id == **owner) {
    impl_->defer_profile(shop, **owner, *nested_customer);
  } else {
    STORE_TRY(impl_->ensure_customer(shop, **owner));
  }
  impl_->touch(shop, **owner);
  return outcome::applied;
}

result<outcome> writer::delete_order(std::string_view shop, id_t order_id) {
  STORE_TRY(impl_->settle_views());
  auto stored = find_order(*impl_, shop, order_id);
  if (!stored) return stored.error();
  if (!*stored) {
    auto tombstoned = impl_->order_tombstoned(shop, order_id);
    if (!tombstoned) return tombstoned.error();
    if (*tombstoned) return outcome::tombstoned;
  }
  STORE_TRY(
      impl_->run_shop_id("DELETE FROM orders WHERE shop = ?1 AND order_id = ?2", shop, order_id));
  // Its refunds go with it: a refund delivered after the delete meets the tombstone and is not
  // recorded, so one delivered before must not stay either.
  STORE_TRY(
      impl_->run_shop_id("DELETE FROM refunds WHERE shop = ?1 AND order_id = ?2", shop, order_id));
  // Unknown orders are tombstoned too, so a create delivered after the delete changes nothing.
  auto s = impl_->stmt(
      "INSERT OR IGNORE INTO order_tombstones(shop, order_id, deleted_at_ms) VALUES(?1, ?2, ?3)");
  if (!s) return s.error();
  detail::query q(*s);
  STORE_TRY(q.bind_text(1, shop).bind_id(2, order_id).bind_int(3, wall_clock_ms()).run());
  if (*stored && (*stored)->customer_id) impl_->touch(shop, *(*stored)->customer_id);
  return outcome::applied;
}

result<outcome> writer::record_refund(std::string_view shop, id_t refund_id, id_t order_id,
                                      std::int64_t created_at_ms, std::int64_t amount_minor) {
  auto tombstoned = impl_->order_tombstoned(shop, order_id);
  if (!tombstoned) return tombstoned.error();
  if (*tombstoned) return outcome::tombstoned;
  auto s = impl_->stmt(
      "INSERT OR IGNORE INTO refunds(shop, refund_id, order_id, created_at_ms, amount_minor) "
      "VALUES(?1, ?2, ?3, ?4, ?5)");
  if (!s) return s.error();
  detail::query q(*s);
  STORE_TRY(q.bind_text(1, shop).bind_id(2, refund_id).bind_id(3, order_id)
                .bind_int(4, created_at_ms).bind_int(5, amount_minor).run());
  return impl_->db->changes() > 0 ? outcome::applied : outcome::stale;
}

result<bool> detail::writer_state::order_tombstoned(std::string_view shop, id_t order_id) {
  auto s = stmt("SELECT 1 FROM order_tombstones WHERE shop = ?1 AND order_id = ?2");
  if (!s) return {boost::system::in_place_error, s.error()};
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, order_id);
  return q.step();
}

}  // namespace store

// Aggregates recomputed from the order rows of the customers a transaction touched, and the
// views of those customers kept for the segment evaluation that follows.
//
// One statement reads the customer row with all its orders (the orders_by_customer index, in
// (processed_at, order_id) order); the aggregates and the email shown (from the profile's and
// the orders' emails) are computed here, and one UPDATE writes them. Before, the aggregates were a
// subquery of the UPDATE and the email a sorted query of its own, and the segment engine read
// the row and the ledger again: four statements per customer where there are now two.
#include <algorithm>

#include "customer_reads.hpp"
#include "writer_impl.hpp"

namespace store {
namespace {

// Columns 0-20 are customer_from_row's; the orders follow (NULL when the customer has none).
// With versions, the profile columns' versions come last (to merge pending profiles).
#define SHOPSEG_CUSTOMER_WITH_ORDERS(versions)                                               \
  "SELECT c.shop, c.customer_id, c.email, c.phone, c.first_name, c.last_name, c.state, "     \
  "c.created_at_ms, c.tags, c.amount_spent_minor, c.number_of_orders, c.first_order_at_ms, " \
  "c.last_order_at_ms, c.largest_order_minor, c.currency, c.shopify_amount_spent_minor, "    \
  "c.shopify_number_of_orders, c.shopify_currency, c.updated_at_ms, c.segments, "            \
  "c.next_change_at_ms, c.email_lower, c.profile_from_customer_payload, c.profile_email, "   \
  "o.order_id, "                                                                             \
  "o.processed_at_ms, o.net_amount_minor, o.currency, "                                      \
  "o.test = 0 AND o.cancelled_at_ms IS NULL AND o.financial_status != 'voided', o.email, "   \
  "o.updated_at_ms" versions                                                                 \
  " FROM customers c LEFT JOIN orders o ON o.shop = c.shop AND "                             \
  "o.customer_id = c.customer_id WHERE c.shop = ?1 AND c.customer_id = ?2 "                  \
  "ORDER BY o.processed_at_ms, o.order_id"
constexpr const char* customer_with_orders = SHOPSEG_CUSTOMER_WITH_ORDERS("");
constexpr const char* customer_with_orders_and_versions = SHOPSEG_CUSTOMER_WITH_ORDERS(
    ", c.profile_version_ms, c.email_version, c.phone_version, c.first_name_version, "
    "c.last_name_version, c.state_version, c.created_at_version");
#undef SHOPSEG_CUSTOMER_WITH_ORDERS
enum : int {
  col_email_lower = 21,
  col_from_customer_payload,
  col_profile_email,
  col_order_id,
  col_processed_at,
  col_net_amount,
  col_currency,
  col_counts,
  col_order_email,
  col_order_updated_at,
  col_profile_version,  // customer_with_orders_and_versions only: then the fields' versions
  col_email_version,
  col_phone_version,
  col_first_name_version,
  col_last_name_version,
  col_state_version,
  col_created_at_version,
};

// What the customer's orders add up to, as the SQL aggregates over its counting orders did
// (sum, count, min/max of processed_at, max amount, min currency), and the email of its newest
// order that has one (newest by updated_at, then processed_at; the first in index order wins
// a tie).
struct folded_orders {
  aggregates totals;
  std::vector<ledger_entry> ledger;  // the counting orders, oldest first
  std::optional<std::string> order_email;
  std::int64_t email_updated_at = 0, email_processed_at = 0;
  bool overflow = false;

  void add(const detail::query& q) {
    const std::int64_t processed = q.int_at(col_processed_at);
    const std::int64_t amount = q.int_at(col_net_amount);
    const std::string_view email = q.text_at(col_order_email);
    const std::int64_t updated = q.int_at(col_order_updated_at);
    if (!email.empty() && (!order_email || updated > email_updated_at ||
                           (updated == email_updated_at && processed > email_processed_at))) {
      order_email = std::string(email);
      email_updated_at = updated;
      email_processed_at = processed;
    }
    if (q.int_at(col_counts) == 0) return;
    aggregates& t = totals;
    overflow = overflow || __builtin_add_overflow(t.amount_spent_minor, amount, &t.amount_spent_minor);
    const std::string_view currency = q.text_at(col_currency);
    if (t.number_of_orders == 0 || amount > t.largest_order_minor) t.largest_order_minor = amount;
    if (t.number_of_orders == 0 || currency < t.currency) t.currency = currency;
    ++t.number_of_orders;
    t.first_order_at_ms = std::min(t.first_order_at_ms.value_or(processed), processed);
    t.last_order_at_ms = std::max(t.last_order_at_ms.value_or(processed), processed);
    ledger.push_back({q.id_at(col_order_id), processed, amount});
  }
};

bool is_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// Whether the lookup key `email_lower` is already that of `email` (SQL's lower() decides
// whenever the email is not plain ASCII).
bool lookup_key_current(const std::optional<std::string>& email,
                        const std::optional<std::string>& email_lower) {
  if (!email || !email_lower) return !email && !email_lower;
  return is_ascii(*email) && detail::ascii_lower(*email) == *email_lower;
}

}  // namespace

std::optional<std::string> detail::shown_email(bool from_customer_payload,
                                               std::optional<std::string> profile_email,
                                               std::optional<std::string> order_email) {
  if (from_customer_payload)
    return profile_email ? std::move(profile_email) : std::move(order_email);
  return order_email ? std::move(order_email) : std::move(profile_email);
}

result<void> detail::write_totals(writer_state& w, const customer_key& key, const aggregates& t,
                                  std::int64_t now_ms, const std::optional<std::string>& email) {
  auto s = w.stmt(
      "UPDATE customers SET amount_spent_minor = ?3, number_of_orders = ?4, first_order_at_ms = ?5, "
      "last_order_at_ms = ?6, largest_order_minor = ?7, currency = ?8, updated_at_ms = ?9, email = ?10 "
      "WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, key.shop).bind_id(2, key.customer_id).bind_int(3, t.amount_spent_minor)
      .bind_int(4, t.number_of_orders).bind_opt_int(5, t.first_order_at_ms)
      .bind_opt_int(6, t.last_order_at_ms).bind_int(7, t.largest_order_minor)
      .bind_text(8, t.currency).bind_int(9, now_ms).bind_opt_text(10, email).run();
}

detail::writer_state::view_entry* detail::writer_state::find_view(std::string_view shop,
                                                                  id_t customer_id) {
  constexpr std::size_t scan_up_to = 16;
  if (views.size() <= scan_up_to) {
    for (auto& v : views)
      if (v.view.customer_id == customer_id && v.view.shop == shop) return &v;
    return nullptr;
  }
  // Views are only appended until they are cleared: index those added since the last look.
  for (std::size_t i = view_index.size(); i < views.size(); ++i)
    view_index.emplace(views[i].view.customer_id, i);
  for (auto [at, end] = view_index.equal_range(customer_id); at != end; ++at)
    if (views[at->second].view.shop == shop) return &views[at->second];
  return nullptr;
}

result<void> detail::writer_state::settle_views(bool keep_profiles) {
  if (!keep_profiles) STORE_TRY(flush_profiles());
  std::vector<const view_entry*> new_rows;
  for (const auto& v : views) {
    if (v.insert_pending)
      new_rows.push_back(&v);
    else if (v.totals_pending)
      STORE_TRY(write_totals(*this, {v.view.shop, v.view.customer_id}, v.view.totals,
                             v.view.updated_at_ms, v.view.email));
  }
  // Other customers than the updates above: the order between them does not matter.
  if (!new_rows.empty()) STORE_TRY(insert_new_customers(*this, new_rows));
  forget_views();
  return {};
}

result<void> writer::refresh_aggregates(bool keep_views) {
  const std::int64_t now = wall_clock_ms();
  // Pending profiles belong to touched customers: each refresh folds its own into its write.
  STORE_TRY(impl_->settle_views(/*keep_profiles=*/true));
  for (const customer_key& key : impl_->touched) STORE_TRY(impl_->refresh_customer(key, now, keep_views));
  return impl_->flush_profiles();  // none left but by a bug: then applied the plain way
}

result<void> detail::writer_state::refresh_customer(const customer_key& key, std::int64_t now_ms,
                                                    bool keep_views) {
  std::optional<customer_view> view;
  std::optional<std::string> email_lower, profile_email;
  bool from_customer_payload = false;
  folded_orders orders;
  // The row's profile with its versions, read only when order payloads left records pending.
  std::optional<stored_profile> profile;
  const bool merging = has_pending_profile(key);
  {
    auto s = stmt(merging ? customer_with_orders_and_versions : customer_with_orders);
    if (!s) return s.error();
    detail::query q(*s);
    q.bind_text(1, key.shop).bind_id(2, key.customer_id);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      if (!view) {
        if (keep_views) view = customer_from_row(q);
        else view.emplace().email = q.opt_text_at(2);
        email_lower = q.opt_text_at(col_email_lower);
        from_customer_payload = q.int_at(col_from_customer_payload) != 0;
        profile_email = q.opt_text_at(col_profile_email);
        if (merging) {
          profile.emplace();
          profile->email = {profile_email, q.opt_int_at(col_email_version)};
          profile->phone = {q.opt_text_at(3), q.opt_int_at(col_phone_version)};
          profile->first_name = {q.opt_text_at(4), q.opt_int_at(col_first_name_version)};
          profile->last_name = {q.opt_text_at(5), q.opt_int_at(col_last_name_version)};
          profile->state = {q.opt_text_at(6), q.opt_int_at(col_state_version)};
          profile->created_at_ms = {q.opt_int_at(7), q.opt_int_at(col_created_at_version)};
          profile->profile_version_ms = q.int_at(col_profile_version);
        }
      }
      if (!q.null_at(col_order_id)) orders.add(q);
    }
  }
  if (!view) {
    // A customer first named by the pending records: they create its row (deletes and merges
    // flush them first, so a deleted customer never comes here with records), then the
    // refresh reads it. Else deleted or merged away: nothing to aggregate.
    if (!merging) return {};
    STORE_TRY(flush_profiles(&key));
    return refresh_customer(key, now_ms, keep_views);
  }
  if (orders.overflow) return make_sqlite_error(SQLITE_TOOBIG);
  bool phone_moved = false;
  std::optional<std::string> phone_before;
  if (profile) phone_before = profile->phone.value;
  const bool profile_moved = profile && merge_profiles(key, *profile);
  if (profile_moved) {
    profile_email = profile->email.value;
    phone_moved = phone_before != profile->phone.value;
    view->phone = profile->phone.value;
    view->first_name = profile->first_name.value;
    view->last_name = profile->last_name.value;
    view->state = profile->state.value;
    view->created_at_ms = profile->created_at_ms.value;
  }
  view->email =
      shown_email(from_customer_payload, std::move(profile_email), std::move(orders.order_email));
  // The lookup indexes follow the email and phone only when they changed (see
  // sync_lookup_keys). The sync reads the row, so the row is written first then.
  const bool sync = phone_moved || !lookup_key_current(view->email, email_lower);
  // A moved profile is written now, with the totals: the deferred write (record_kept,
  // settle_views) carries the totals alone.
  const bool defer = keep_views && !sync && !profile_moved;
  if (profile_moved) {
    STORE_TRY(write_row(*this, key, orders.totals, now_ms, view->email, *profile));
  } else if (!defer) {
    STORE_TRY(write_totals(*this, key, orders.totals, now_ms, view->email));
  }
  if (sync) STORE_TRY(sync_lookup_keys(key.shop, key.customer_id));
  if (!keep_views) return {};
  view->totals = std::move(orders.totals);
  view->updated_at_ms = now_ms;
  views.push_back({std::move(*view), std::move(orders.ledger), defer, std::nullopt});
  return {};
}

}  // namespace store

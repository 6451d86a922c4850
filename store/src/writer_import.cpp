// Import batches (writer::import_batch). A first import writes customers and orders of which
// nothing is stored yet; applying them one by one costs two or three lookups per record, a
// profile upsert, a lookup-key sync, a tag event and its refold, then per customer a read of
// every order and two row rewrites (aggregates, memberships). For such records the outcome of
// the per-record rules is known without asking the store, so the batch builds them in memory
// and writes each row once, in key order.
//
// Which records qualify is settled per batch with one range probe per table (orders, order
// tombstones, customers, customer tombstones, aliases) over the batch's sorted keys. A customer
// with anything stored, a customer that an alias points at, and every customer of an order that
// is stored, tombstoned or named with two different customers in the batch are "held": every
// record naming a held customer or such an order goes through the per-record path, in input
// order, before the rest. The two sets share no customer and no order, so their order does not
// change the result.
#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "bulk_insert.hpp"
#include "writer_impl.hpp"

namespace store {
namespace {

using detail::bulk_insert;
using detail::insert_rows;

// SQLite compares integer keys as signed 64-bit values (ids above 2^63 are stored negative):
// ranges and insert order follow that order.
bool key_less(id_t a, id_t b) {
  return static_cast<std::int64_t>(a) < static_cast<std::int64_t>(b);
}

void sort_keys(std::vector<id_t>& keys) {
  std::sort(keys.begin(), keys.end(), key_less);
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}

struct probe_sql {
  const char* range;  // (shop ?1, from ?2, to ?3, limit ?4) -> (key, value)
  const char* point;  // (shop ?1, key ?2) -> (key, value)
};

constexpr probe_sql stored_orders{
    "SELECT order_id, 0 FROM orders WHERE shop = ?1 AND order_id BETWEEN ?2 AND ?3 LIMIT ?4",
    "SELECT order_id, 0 FROM orders WHERE shop = ?1 AND order_id = ?2"};
constexpr probe_sql order_tombstones{
    "SELECT order_id, 0 FROM order_tombstones WHERE shop = ?1 AND order_id BETWEEN ?2 AND ?3 LIMIT "
    "?4",
    "SELECT order_id, 0 FROM order_tombstones WHERE shop = ?1 AND order_id = ?2"};
constexpr probe_sql stored_customers{
    "SELECT customer_id, 0 FROM customers WHERE shop = ?1 AND customer_id BETWEEN ?2 AND ?3 LIMIT "
    "?4",
    "SELECT customer_id, 0 FROM customers WHERE shop = ?1 AND customer_id = ?2"};
constexpr probe_sql customer_tombstones{
    "SELECT customer_id, 0 FROM customer_tombstones WHERE shop = ?1 AND customer_id BETWEEN ?2 AND "
    "?3 LIMIT ?4",
    "SELECT customer_id, 0 FROM customer_tombstones WHERE shop = ?1 AND customer_id = ?2"};
constexpr probe_sql customer_aliases{
    "SELECT deleted_id, kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id BETWEEN ?2 "
    "AND ?3 LIMIT ?4",
    "SELECT deleted_id, kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id = ?2"};

using found_keys = std::unordered_map<id_t, id_t>;  // key -> value column

// Adds to `found` the keys of `keys` (sorted by key_less, unique) that the table holds for the
// shop. One scan of [front, back] while that range holds few rows besides the batch's (an
// empty store, a file of ascending ids, a re-import); one lookup per key otherwise.
result<void> probe(detail::writer_state& w, std::string_view shop, const std::vector<id_t>& keys,
                   const probe_sql& sql, found_keys& found) {
  if (keys.empty()) return {};
  const std::size_t budget = 4 * keys.size() + 64;
  found_keys in_range;
  {
    auto s = w.stmt(sql.range);
    if (!s) return s.error();
    detail::query q(*s);
    q.bind_text(1, shop)
        .bind_id(2, keys.front())
        .bind_id(3, keys.back())
        .bind_int(4, static_cast<std::int64_t>(budget) + 1);
    std::size_t rows = 0;
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      if (++rows > budget) break;
      in_range.emplace(q.id_at(0), q.id_at(1));
    }
    if (rows <= budget) {
      for (id_t key : keys)
        if (auto at = in_range.find(key); at != in_range.end()) found.insert(*at);
      return {};
    }
  }
  auto s = w.stmt(sql.point);
  if (!s) return s.error();
  for (id_t key : keys) {
    detail::query q(*s);
    q.bind_text(1, shop).bind_id(2, key);
    auto row = q.step();
    if (!row) return row.error();
    if (*row) found.emplace(q.id_at(0), q.id_at(1));
  }
  return {};
}

using detail::versioned_field;

// A customer of which nothing is stored, as the batch's records leave it.
struct fresh_customer {
  bool exists = false;  // a record created its row
  versioned_field<std::string> email, phone, first_name, last_name, state;
  versioned_field<std::int64_t> created_at_ms;
  std::int64_t profile_version_ms = 0;
  bool from_customer_payload = false;
  std::vector<std::pair<std::int64_t, std::string>>
      tag_sets;              // "set" events kept (at, joined tags)
  std::vector<id_t> orders;  // its order ids, each once

  // apply_profile's upsert: the row is created by the first profile; later ones change the
  // fields they win, the newest version and the source flag. True when the row changed.
  bool apply(const profile_record& p, bool customer_payload) {
    const std::int64_t key =
        detail::profile_key(p.updated_at_ms, customer_payload ? profile_source::customer_payload
                                                              : profile_source::order_payload);
    bool changed = !exists;
    changed = email.offer(p.email, key) || changed;
    changed = phone.offer(p.phone, key) || changed;
    changed = first_name.offer(p.first_name, key) || changed;
    changed = last_name.offer(p.last_name, key) || changed;
    changed = state.offer(p.state, key) || changed;
    changed = created_at_ms.offer(p.created_at_ms, key) || changed;
    if (!exists || p.updated_at_ms > profile_version_ms) {
      profile_version_ms = p.updated_at_ms;
      changed = true;
    }
    if (customer_payload && !from_customer_payload) {
      from_customer_payload = true;
      changed = true;
    }
    exists = true;
    return changed;
  }

  // record_tag_event's INSERT OR IGNORE and the refold's pruning of events older than the
  // newest full set. True when the event was new.
  bool add_tag_set(std::int64_t at_ms, std::string joined) {
    for (const auto& [at, tags] : tag_sets)
      if (at == at_ms && tags == joined) return false;
    tag_sets.emplace_back(at_ms, std::move(joined));
    std::int64_t newest = at_ms;
    for (const auto& e : tag_sets) newest = std::max(newest, e.first);
    std::erase_if(tag_sets, [newest](const auto& e) { return e.first < newest; });
    return true;
  }
};

// refresh_customer's fold of the orders (writer_refresh.cpp), over orders in index order
// (processed_at, order id).
struct order_totals {
  aggregates totals;
  std::vector<ledger_entry> ledger;
  std::optional<std::string> order_email;
  std::int64_t email_updated_at = 0, email_processed_at = 0;
  bool overflow = false;

  void add(const order_record& o) {
    if (!o.email.empty() &&
        (!order_email || o.updated_at_ms > email_updated_at ||
         (o.updated_at_ms == email_updated_at && o.processed_at_ms > email_processed_at))) {
      order_email = o.email;
      email_updated_at = o.updated_at_ms;
      email_processed_at = o.processed_at_ms;
    }
    if (o.test || o.cancelled_at_ms || o.financial_status == "voided") return;
    aggregates& t = totals;
    overflow = overflow || __builtin_add_overflow(t.amount_spent_minor, o.net_amount_minor,
                                                  &t.amount_spent_minor);
    if (t.number_of_orders == 0 || o.net_amount_minor > t.largest_order_minor)
      t.largest_order_minor = o.net_amount_minor;
    if (t.number_of_orders == 0 || o.currency < t.currency) t.currency = o.currency;
    ++t.number_of_orders;
    t.first_order_at_ms =
        std::min(t.first_order_at_ms.value_or(o.processed_at_ms), o.processed_at_ms);
    t.last_order_at_ms =
        std::max(t.last_order_at_ms.value_or(o.processed_at_ms), o.processed_at_ms);
    ledger.push_back({o.order_id, o.processed_at_ms, o.net_amount_minor});
  }
};

const bulk_insert insert_orders{
    "INSERT INTO orders(shop, order_id, customer_id, name, updated_at_ms, created_at_ms, "
    "processed_at_ms, net_amount_minor, currency, test, cancelled_at_ms, financial_status, "
    "fulfillment_status, email) VALUES",
    "(#, #, #, #, #, #, #, #, #, #, #, #, #, #)", 14};

void bind_order(detail::query& q, int at, std::string_view shop, const order_record& o) {
  q.bind_text(at + 1, shop).bind_id(at + 2, o.order_id);
  if (o.customer_id)
    q.bind_id(at + 3, *o.customer_id);
  else
    q.bind_null(at + 3);
  q.bind_text(at + 4, o.name)
      .bind_int(at + 5, o.updated_at_ms)
      .bind_int(at + 6, o.created_at_ms)
      .bind_int(at + 7, o.processed_at_ms)
      .bind_int(at + 8, o.net_amount_minor)
      .bind_text(at + 9, o.currency)
      .bind_int(at + 10, o.test ? 1 : 0)
      .bind_opt_int(at + 11, o.cancelled_at_ms)
      .bind_text(at + 12, o.financial_status)
      .bind_text(at + 13, o.fulfillment_status)
      .bind_text(at + 14, o.email);
}

const bulk_insert insert_tag_sets{
    "INSERT INTO tag_events(shop, customer_id, at_ms, kind, tags) VALUES", "(#, #, #, 'set', #)",
    4};

struct tag_set_row {
  id_t customer_id;
  std::int64_t at_ms;
  const std::string* joined;
};

}  // namespace

result<void> detail::insert_new_customers(
    writer_state& w, const std::vector<const writer_state::view_entry*>& rows) {
  static const bulk_insert insert_customers{
      "INSERT INTO customers(shop, customer_id, email, email_lower, phone, phone_key, first_name, "
      "last_name, state, created_at_ms, profile_version_ms, profile_from_customer_payload, tags, "
      "amount_spent_minor, number_of_orders, first_order_at_ms, last_order_at_ms, "
      "largest_order_minor, currency, updated_at_ms, segments, next_change_at_ms, profile_email, "
      "email_version, phone_version, first_name_version, last_name_version, state_version, "
      "created_at_version) VALUES",
      "(#, #, #, lower(#), #, shopseg_phone_key(#), #, #, #, #, #, #, #, #, #, #, #, #, #, #, #, "
      "#, "
      "#, #, #, #, #, #, #)",
      29};
  // The joined names outlive the statements that bind them.
  struct row {
    const writer_state::view_entry* e;
    std::string tags, segments;
  };
  std::vector<row> joined;
  joined.reserve(rows.size());
  for (const auto* e : rows)
    joined.push_back({e, comma_joined(e->view.tags), comma_joined(e->view.segments)});
  return insert_rows(w, insert_customers, joined, [](detail::query& q, int at, const row& r) {
    const customer_view& v = r.e->view;
    const aggregates& t = v.totals;
    const writer_state::view_entry::new_row& n = *r.e->insert_pending;
    q.bind_text(at + 1, v.shop)
        .bind_id(at + 2, v.customer_id)
        .bind_opt_text(at + 3, v.email)
        .bind_opt_text(at + 4, v.email)
        .bind_opt_text(at + 5, v.phone)
        .bind_opt_text(at + 6, v.phone)
        .bind_opt_text(at + 7, v.first_name)
        .bind_opt_text(at + 8, v.last_name)
        .bind_opt_text(at + 9, v.state)
        .bind_opt_int(at + 10, v.created_at_ms)
        .bind_int(at + 11, n.profile_version_ms)
        .bind_int(at + 12, n.from_customer_payload ? 1 : 0)
        .bind_text(at + 13, r.tags)
        .bind_int(at + 14, t.amount_spent_minor)
        .bind_int(at + 15, t.number_of_orders)
        .bind_opt_int(at + 16, t.first_order_at_ms)
        .bind_opt_int(at + 17, t.last_order_at_ms)
        .bind_int(at + 18, t.largest_order_minor)
        .bind_text(at + 19, t.currency)
        .bind_int(at + 20, v.updated_at_ms)
        .bind_text(at + 21, r.segments)
        .bind_opt_int(at + 22, v.next_change_at_ms)
        .bind_opt_text(at + 23, n.profile_email)
        .bind_opt_int(at + 24, n.email_version)
        .bind_opt_int(at + 25, n.phone_version)
        .bind_opt_int(at + 26, n.first_name_version)
        .bind_opt_int(at + 27, n.last_name_version)
        .bind_opt_int(at + 28, n.state_version)
        .bind_opt_int(at + 29, n.created_at_version);
  });
}

result<std::vector<outcome>> writer::import_batch(std::string_view shop,
                                                  const std::vector<import_item>& items) {
  detail::writer_state& w = *impl_;
  STORE_TRY(w.settle_views());
  std::vector<outcome> outcomes(items.size(), outcome::applied);

  // What the store holds of the batch's keys.
  std::vector<id_t> order_ids, customer_ids;
  for (const auto& item : items) {
    if (item.order) {
      order_ids.push_back(item.order->order_id);
      if (item.order->customer_id) customer_ids.push_back(*item.order->customer_id);
    } else if (item.profile) {
      customer_ids.push_back(item.profile->customer_id);
    }
  }
  sort_keys(order_ids);
  sort_keys(customer_ids);
  found_keys stored_o, stored_c, aliases;
  STORE_TRY(probe(w, shop, order_ids, stored_orders, stored_o));
  STORE_TRY(probe(w, shop, order_ids, order_tombstones, stored_o));
  STORE_TRY(probe(w, shop, customer_ids, stored_customers, stored_c));
  STORE_TRY(probe(w, shop, customer_ids, customer_tombstones, stored_c));
  STORE_TRY(probe(w, shop, customer_ids, customer_aliases, aliases));

  // Held customers and orders (see the top of the file).
  std::unordered_set<id_t> held;
  for (const auto& [id, unused] : stored_c) held.insert(id);
  for (const auto& [deleted, kept] : aliases) held.insert(deleted), held.insert(kept);
  std::unordered_map<id_t, std::optional<id_t>> owner;
  std::unordered_set<id_t> held_orders;
  for (const auto& [id, unused] : stored_o) held_orders.insert(id);
  for (const auto& item : items) {
    if (!item.order) continue;
    auto [at, first] = owner.try_emplace(item.order->order_id, item.order->customer_id);
    if (!first && at->second != item.order->customer_id) held_orders.insert(item.order->order_id);
  }
  for (const auto& item : items)
    if (item.order && item.order->customer_id && held_orders.contains(item.order->order_id))
      held.insert(*item.order->customer_id);
  auto is_held = [&](const import_item& item) {
    if (!item.order) return held.contains(item.profile->customer_id);
    return held_orders.contains(item.order->order_id) ||
           (item.order->customer_id && held.contains(*item.order->customer_id));
  };

  // The per-record path, in input order, then the aggregates of what it touched.
  for (std::size_t i = 0; i < items.size(); ++i) {
    const import_item& item = items[i];
    if (!item.order && !item.profile) outcomes[i] = outcome::ignored;
    if ((!item.order && !item.profile) || !is_held(item)) continue;
    auto r = item.order ? upsert_order(shop, *item.order, item.profile ? &*item.profile : nullptr)
                        : upsert_customer(shop, *item.profile, profile_source::customer_payload);
    if (!r) return r.error();
    outcomes[i] = *r;
  }
  const std::int64_t now = wall_clock_ms();
  STORE_TRY(w.settle_views(/*keep_profiles=*/true));  // as refresh_aggregates
  for (const customer_key& key : w.touched) STORE_TRY(w.refresh_customer(key, now, true));
  STORE_TRY(w.flush_profiles());

  // The rest in memory, in input order.
  std::unordered_map<id_t, fresh_customer> fresh;
  std::unordered_map<id_t, const order_record*> fresh_orders;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const import_item& item = items[i];
    if ((!item.order && !item.profile) || is_held(item)) continue;
    if (item.order) {
      const order_record& o = *item.order;
      auto [at, first] = fresh_orders.try_emplace(o.order_id, &o);
      const bool newer = first || at->second->updated_at_ms < o.updated_at_ms;
      if (newer) at->second = &o;
      if (!o.customer_id) {
        if (!newer) outcomes[i] = outcome::stale;
        continue;
      }
      // upsert_order's apply_order_customer: the customer takes the record whether or not the
      // order is newer (the batch names each order with one customer here).
      fresh_customer& c = fresh[*o.customer_id];
      if (first) c.orders.push_back(o.order_id);
      bool changed = !c.exists;
      if (item.profile)
        changed = c.apply(*item.profile, false) || changed;
      else
        c.exists = true;
      if (!newer && !changed) outcomes[i] = outcome::stale;
      continue;
    }
    const profile_record& p = *item.profile;
    fresh_customer& c = fresh[p.customer_id];
    bool changed = c.apply(p, true);
    if (p.tags) {
      c.exists = true;
      changed = c.add_tag_set(p.updated_at_ms, join_tags(*p.tags)) || changed;
    }
    if (!changed) outcomes[i] = outcome::stale;
  }

  // Orders in key order.
  std::vector<const order_record*> new_orders;
  new_orders.reserve(fresh_orders.size());
  for (const auto& [id, o] : fresh_orders) new_orders.push_back(o);
  std::sort(new_orders.begin(), new_orders.end(),
            [](auto* a, auto* b) { return key_less(a->order_id, b->order_id); });
  STORE_TRY(insert_rows(w, insert_orders, new_orders, [shop](detail::query& q, int at, auto* o) {
    bind_order(q, at, shop, *o);
  }));

  // Customers in key order: their tag events now, their rows with their memberships.
  std::vector<id_t> new_customers;
  new_customers.reserve(fresh.size());
  for (const auto& [id, c] : fresh)
    if (c.exists) new_customers.push_back(id);
  std::sort(new_customers.begin(), new_customers.end(), key_less);
  w.touched.reserve(w.touched.size() + new_customers.size());
  w.views.reserve(w.views.size() + new_customers.size());
  std::vector<tag_set_row> tag_sets;
  for (id_t id : new_customers) {
    fresh_customer& c = fresh[id];
    std::sort(c.tag_sets.begin(), c.tag_sets.end());
    std::vector<std::string> tags;
    for (const auto& [at, joined] : c.tag_sets) {
      detail::fold_tag_event(tags, "set", joined);
      tag_sets.push_back({id, at, &joined});
    }
    std::vector<const order_record*> orders;
    orders.reserve(c.orders.size());
    for (id_t order_id : c.orders) orders.push_back(fresh_orders[order_id]);
    std::sort(orders.begin(), orders.end(), [](auto* a, auto* b) {
      return a->processed_at_ms != b->processed_at_ms ? a->processed_at_ms < b->processed_at_ms
                                                      : key_less(a->order_id, b->order_id);
    });
    order_totals folded;
    for (const order_record* o : orders) folded.add(*o);
    if (folded.overflow) return make_sqlite_error(SQLITE_TOOBIG);
    detail::writer_state::view_entry e;
    customer_view& v = e.view;
    v.shop = std::string(shop);
    v.customer_id = id;
    v.email =
        detail::shown_email(c.from_customer_payload, c.email.value, std::move(folded.order_email));
    v.phone = std::move(c.phone.value);
    v.first_name = std::move(c.first_name.value);
    v.last_name = std::move(c.last_name.value);
    v.state = std::move(c.state.value);
    v.created_at_ms = c.created_at_ms.value;
    v.tags = split_tags(join_tags(std::move(tags)));
    v.totals = std::move(folded.totals);
    v.updated_at_ms = now;
    e.ledger = std::move(folded.ledger);
    e.insert_pending = detail::writer_state::view_entry::new_row{
        c.profile_version_ms, c.from_customer_payload, std::move(c.email.value),
        c.email.version,      c.phone.version,         c.first_name.version,
        c.last_name.version,  c.state.version,         c.created_at_ms.version};
    w.views.push_back(std::move(e));
    w.touched.push_back({std::string(shop), id});
  }
  STORE_TRY(insert_rows(w, insert_tag_sets, tag_sets,
                        [shop](detail::query& q, int at, const tag_set_row& t) {
                          q.bind_text(at + 1, shop)
                              .bind_id(at + 2, t.customer_id)
                              .bind_int(at + 3, t.at_ms)
                              .bind_text(at + 4, *t.joined);
                        }));
  return outcomes;
}

}  // namespace store

// The writer's segment bookkeeping: memberships, the change log, next-change times, and the
// scans a reload or a percentile rebuild needs.
#include <algorithm>

#include "bulk_insert.hpp"
#include "customer_reads.hpp"
#include "writer_impl.hpp"

namespace store {

std::string detail::comma_joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}
namespace {

#define SHOPSEG_TOTALS                                                                                \
  "UPDATE customers SET amount_spent_minor = ?5, number_of_orders = ?6, first_order_at_ms = ?7, "     \
  "last_order_at_ms = ?8, largest_order_minor = ?9, currency = ?10, updated_at_ms = ?11, email = ?12"
// The refreshed aggregates with what moved of the memberships (?3) and next change time (?4),
// indexed by segments moved * 2 + next change moved.
constexpr const char* totals_and[] = {
    SHOPSEG_TOTALS " WHERE shop = ?1 AND customer_id = ?2",
    SHOPSEG_TOTALS ", next_change_at_ms = ?4 WHERE shop = ?1 AND customer_id = ?2",
    SHOPSEG_TOTALS ", segments = ?3 WHERE shop = ?1 AND customer_id = ?2",
    SHOPSEG_TOTALS ", segments = ?3, next_change_at_ms = ?4 WHERE shop = ?1 AND customer_id = ?2",
};
#undef SHOPSEG_TOTALS

// Writes what moved of a kept customer's memberships and next change time, with its refreshed
// aggregates when they are still pending (one row rewrite instead of two), and keeps the view
// current. The next change time is indexed: it is assigned only when it moves.
result<void> record_kept(detail::writer_state& w, detail::writer_state::view_entry& kept, const std::string& names,
                         std::optional<std::int64_t> next_change_at_ms) {
  customer_view& v = kept.view;
  if (kept.insert_pending) {
    // A customer an import built: its whole row, memberships included, is inserted with the
    // batch's other new rows when the views settle (before COMMIT).
    v.segments = split_tags(names);
    v.next_change_at_ms = next_change_at_ms;
    return {};
  }
  const bool segments_moved = detail::comma_joined(v.segments) != names;
  const bool next_moved = v.next_change_at_ms != next_change_at_ms;
  const char* sql = kept.totals_pending ? totals_and[(segments_moved ? 2 : 0) + (next_moved ? 1 : 0)]
                    : segments_moved && next_moved
                        ? "UPDATE customers SET segments = ?3, next_change_at_ms = ?4 WHERE shop = ?1 AND customer_id = ?2"
                    : segments_moved ? "UPDATE customers SET segments = ?3 WHERE shop = ?1 AND customer_id = ?2"
                    : next_moved     ? "UPDATE customers SET next_change_at_ms = ?4 WHERE shop = ?1 AND customer_id = ?2"
                                     : nullptr;
  if (!sql) return {};
  auto s = w.stmt(sql);
  if (!s) return s.error();
  {
    detail::query q(*s);
    q.bind_text(1, v.shop).bind_id(2, v.customer_id);
    if (segments_moved) q.bind_text(3, names);
    if (next_moved) q.bind_opt_int(4, next_change_at_ms);
    if (kept.totals_pending) {
      const aggregates& t = v.totals;
      q.bind_int(5, t.amount_spent_minor).bind_int(6, t.number_of_orders).bind_opt_int(7, t.first_order_at_ms)
          .bind_opt_int(8, t.last_order_at_ms).bind_int(9, t.largest_order_minor).bind_text(10, t.currency)
          .bind_int(11, v.updated_at_ms).bind_opt_text(12, v.email);
    }
    STORE_TRY(q.run());
  }
  kept.totals_pending = false;
  if (segments_moved) v.segments = split_tags(names);
  v.next_change_at_ms = next_change_at_ms;
  return {};
}

}  // namespace

result<std::optional<customer_view>> writer::customer(std::string_view shop, id_t customer_id) {
  STORE_TRY(impl_->flush_profiles());  // none after a refresh; the row as it stands before one
  if (const auto* kept = impl_->find_view(shop, customer_id)) return std::optional<customer_view>(kept->view);
  auto found = detail::read_customer(*impl_->db, shop, customer_id);
  if (!found || !*found) return found;
  // Kept with its ledger (the segment engine asks for it next) until the next mutation.
  auto ledger = detail::read_ledger(*impl_->db, shop, customer_id);
  if (!ledger) return ledger.error();
  impl_->views.push_back({**found, std::move(*ledger), false, std::nullopt});
  return found;
}

result<std::vector<ledger_entry>> writer::ledger(std::string_view shop, id_t customer_id) {
  if (const auto* kept = impl_->find_view(shop, customer_id)) return kept->ledger;
  return detail::read_ledger(*impl_->db, shop, customer_id);
}

result<std::vector<std::string>> writer::memberships(std::string_view shop, id_t customer_id) {
  auto found = detail::read_memberships(*impl_->db, shop, customer_id);
  if (!found) return found.error();
  if (*found) return std::move(**found);
  for (const auto& [key, segments] : impl_->departed)
    if (key.customer_id == customer_id && key.shop == shop) return segments;
  return std::vector<std::string>();
}

result<void> detail::writer_state::remember_departure(std::string_view shop, id_t customer_id) {
  auto found = read_memberships(*db, shop, customer_id);
  if (!found) return found.error();
  if (*found && !(*found)->empty()) departed.push_back({{std::string(shop), customer_id}, std::move(**found)});
  return {};
}

result<void> writer::record_segments(std::string_view shop, id_t customer_id, const std::vector<std::string>& now_in,
                                     const std::vector<std::string>& joined, const std::vector<std::string>& left,
                                     std::optional<std::int64_t> next_change_at_ms, std::string_view cause,
                                     std::int64_t at_ms) {
  const std::string names = join_tags(now_in);
  if (auto* kept = impl_->find_view(shop, customer_id)) {
    // The row as the refresh left it says what moved: at most one statement, none when
    // nothing did.
    STORE_TRY(record_kept(*impl_, *kept, names, next_change_at_ms));
  } else {
    {
      auto s = impl_->stmt("UPDATE customers SET segments = ?3 WHERE shop = ?1 AND customer_id = ?2 AND segments != ?3");
      if (!s) return s.error();
      detail::query q(*s);
      STORE_TRY(q.bind_text(1, shop).bind_id(2, customer_id).bind_text(3, names).run());
    }
    // A separate statement: assigning the indexed next_change_at_ms rewrites its index entry
    // (a random page) even when the value stays, so it is assigned only when it moves.
    auto s = impl_->stmt(
        "UPDATE customers SET next_change_at_ms = ?3 WHERE shop = ?1 AND customer_id = ?2 AND "
        "next_change_at_ms IS NOT ?3");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_id(2, customer_id).bind_opt_int(3, next_change_at_ms).run());
  }
  return detail::log_changes(*impl_, shop, customer_id, joined, left, cause, at_ms);
}

result<bool> writer::record_reloaded(std::string_view shop, id_t customer_id,
                                     const std::vector<std::string>& now_in, bool segments_moved,
                                     bool next_moved, std::optional<std::int64_t> next_change_at_ms,
                                     const std::vector<std::string>& joined,
                                     const std::vector<std::string>& left, std::string_view cause,
                                     std::int64_t at_ms) {
  // One seek and one row rewrite, none when nothing moved (most of a reload that changes
  // little): the snapshot said what the row holds.
  const char* sql =
      segments_moved && next_moved ? "UPDATE customers SET segments = ?3, next_change_at_ms = ?4 "
                                     "WHERE shop = ?1 AND customer_id = ?2"
      : segments_moved ? "UPDATE customers SET segments = ?3 WHERE shop = ?1 AND customer_id = ?2"
      : next_moved
          ? "UPDATE customers SET next_change_at_ms = ?4 WHERE shop = ?1 AND customer_id = ?2"
          : nullptr;
  if (!sql) return true;
  const std::string names =
      segments_moved ? join_tags(now_in) : std::string();  // bound, not copied
  auto s = impl_->stmt(sql);
  if (!s) return {boost::system::in_place_error, s.error()};
  {
    detail::query q(*s);
    q.bind_text(1, shop).bind_id(2, customer_id);
    if (segments_moved) q.bind_text(3, names);
    if (next_moved) q.bind_opt_int(4, next_change_at_ms);
    STORE_TRY(q.run());
  }
  if (impl_->db->changes() == 0) return false;  // erased since the snapshot
  auto& pending = impl_->pending_changes;
  for (const auto& segment : left) pending.push_back({at_ms, std::string(shop), customer_id, segment, false, std::string(cause)});
  for (const auto& segment : joined) pending.push_back({at_ms, std::string(shop), customer_id, segment, true, std::string(cause)});
  if (pending.size() >= 256) STORE_TRY(impl_->flush_changes());
  return true;
}

result<void> detail::writer_state::flush_changes() {
  static const bulk_insert insert_changes{
      "INSERT INTO changes(at_ms, shop, customer_id, segment, joined, cause) VALUES",
      "(#, #, #, #, #, #)", 6};
  STORE_TRY(
      insert_rows(*this, insert_changes, pending_changes, [](query& q, int at, const auto& c) {
        q.bind_int(at + 1, c.at_ms)
            .bind_text(at + 2, c.shop)
            .bind_id(at + 3, c.customer_id)
            .bind_text(at + 4, c.segment)
            .bind_int(at + 5, c.joined ? 1 : 0)
            .bind_text(at + 6, c.cause);
      }));
  pending_changes.clear();
  return {};
}

result<void> detail::log_changes(writer_state& w, std::string_view shop, id_t customer_id,
                                 const std::vector<std::string>& joined,
                                 const std::vector<std::string>& left, std::string_view cause,
                                 std::int64_t at_ms) {
  // Queued behind any earlier entries and inserted many to a statement (an import batch logs
  // about three entries for each new customer; one statement each cost a tenth of its writer).
  auto& pending = w.pending_changes;
  for (const auto& segment : left)
    pending.push_back({at_ms, std::string(shop), customer_id, segment, false, std::string(cause)});
  for (const auto& segment : joined)
    pending.push_back({at_ms, std::string(shop), customer_id, segment, true, std::string(cause)});
  if (pending.size() >= 256) STORE_TRY(w.flush_changes());
  return {};
}

std::vector<std::string> writer::departed_memberships(std::string_view shop, id_t customer_id) const {
  for (const auto& [key, segments] : impl_->departed)
    if (key.customer_id == customer_id && key.shop == shop) return segments;
  return {};
}

result<std::vector<customer_key>> writer::due_customers(std::int64_t now_ms, int limit) {
  auto s = impl_->stmt(
      "SELECT shop, customer_id FROM customers WHERE next_change_at_ms IS NOT NULL AND "
      "next_change_at_ms <= ?1 ORDER BY next_change_at_ms LIMIT ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_int(1, now_ms).bind_int(2, limit);
  return q.rows<customer_key>([](const detail::query& r) -> customer_key {
    return {std::string(r.text_at(0)), r.id_at(1)};
  });
}

result<std::optional<std::int64_t>> writer::earliest_next_change() {
  auto s = impl_->stmt(
      "SELECT next_change_at_ms FROM customers WHERE next_change_at_ms IS NOT NULL "
      "ORDER BY next_change_at_ms LIMIT 1");
  if (!s) return s.error();
  detail::query q(*s);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  return std::optional<std::int64_t>(q.int_at(0));
}

result<std::vector<customer_key>> writer::customers_after(const std::optional<customer_key>& after, int limit) {
  STORE_TRY(impl_->settle_views());
  auto found = detail::read_customers_after(*impl_->db, after, limit);
  if (!found) return found.error();
  std::vector<customer_key> keys;
  keys.reserve(found->size());
  for (auto& c : *found) {
    keys.push_back({c.view.shop, c.view.customer_id});
    impl_->views.push_back({std::move(c.view), std::move(c.ledger), false, std::nullopt});
  }
  return keys;
}

result<void> writer::for_each_membership(
    const std::function<void(std::string_view shop, const std::vector<std::string>& segments)>& visit) {
  // No WHERE: the walk reads every row anyway, and customers without memberships are skipped
  // below without being copied.
  auto s = impl_->stmt("SELECT shop, segments FROM customers");
  if (!s) return s.error();
  detail::query q(*s);
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return {};
    if (q.text_at(1).empty()) continue;
    visit(q.text_at(0), split_tags(q.text_at(1)));
  }
}

result<std::vector<buyer>> writer::buyers() {
  STORE_TRY(impl_->settle_views());
  auto s = impl_->stmt("SELECT shop, customer_id, amount_spent_minor FROM customers WHERE number_of_orders > 0");
  if (!s) return s.error();
  detail::query q(*s);
  return q.rows<buyer>([](const detail::query& r) -> buyer {
    return {std::string(r.text_at(0)), r.id_at(1), r.int_at(2)};
  });
}

result<std::optional<std::string>> writer::setting(std::string_view name) {
  auto s = impl_->stmt("SELECT value FROM settings WHERE name = ?1");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, name);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(std::string(q.text_at(0)));
}

result<void> writer::set_setting(std::string_view name, std::string_view value) {
  auto s = impl_->stmt("INSERT OR REPLACE INTO settings(name, value) VALUES(?1, ?2)");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, name).bind_text(2, value).run();
}

}  // namespace store

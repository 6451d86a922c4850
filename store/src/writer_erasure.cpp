// Erasure (customers/redact, shop/redact) and data requests. secure_delete overwrites the freed
// bytes in the database file; checkpoint_truncate() then empties the WAL of the old pages.
#include "writer_impl.hpp"

namespace store {
namespace {

// Every table keyed by shop, for shop/redact.
constexpr const char* shop_tables[] = {
    "DELETE FROM deliveries WHERE shop_id = (SELECT id FROM shop_keys WHERE domain = ?1)",
    "DELETE FROM raw_bodies WHERE shop = ?1",
    "DELETE FROM quarantine WHERE shop = ?1",     "DELETE FROM orders WHERE shop = ?1",
    "DELETE FROM refunds WHERE shop = ?1",        "DELETE FROM order_tombstones WHERE shop = ?1",
    "DELETE FROM customers WHERE shop = ?1",      "DELETE FROM customer_tombstones WHERE shop = ?1",
    "DELETE FROM customer_aliases WHERE shop = ?1", "DELETE FROM tag_events WHERE shop = ?1",
    "DELETE FROM data_requests WHERE shop = ?1",
    "DELETE FROM changes WHERE shop = ?1",        "DELETE FROM audit WHERE shop = ?1",
    "DELETE FROM shops WHERE domain = ?1",
};

result<std::optional<std::string>> stored_email(detail::writer_state& w, std::string_view shop,
                                                id_t customer_id) {
  auto s = w.stmt("SELECT email_lower FROM customers WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row || q.null_at(0) || q.text_at(0).empty()) return std::optional<std::string>();
  return q.opt_text_at(0);
}

result<void> erase_order(detail::writer_state& w, std::string_view shop, id_t order_id,
                         std::int64_t at_ms) {
  STORE_TRY(w.run_shop_id("DELETE FROM refunds WHERE shop = ?1 AND order_id = ?2", shop, order_id));
  STORE_TRY(w.run_shop_id("DELETE FROM orders WHERE shop = ?1 AND order_id = ?2", shop, order_id));
  auto s = w.stmt(
      "INSERT OR IGNORE INTO order_tombstones(shop, order_id, deleted_at_ms) VALUES(?1, ?2, ?3)");
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, shop).bind_id(2, order_id).bind_int(3, at_ms).run();
}

// Raw payloads are erased when they mention the customer's id or email anywhere.
result<void> erase_bodies(detail::writer_state& w, std::string_view shop, id_t customer_id,
                          const std::optional<std::string>& email) {
  const std::string id_text = std::to_string(customer_id);
  for (const char* sql : {
           "DELETE FROM raw_bodies WHERE shop = ?1 AND (instr(body, ?2) > 0 OR "
           "(?3 IS NOT NULL AND instr(lower(body), ?3) > 0))",
           "DELETE FROM quarantine WHERE shop = ?1 AND (instr(body, ?2) > 0 OR "
           "(?3 IS NOT NULL AND instr(lower(body), ?3) > 0))",
       }) {
    auto s = w.stmt(sql);
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_text(2, id_text).bind_opt_text(3, email).run());
  }
  return {};
}

}  // namespace

result<void> detail::writer_state::audit(std::string_view shop, std::string_view action,
                                 std::optional<id_t> customer_id, std::int64_t at_ms) {
  auto s = stmt("INSERT INTO audit(at_ms, shop, action, customer_id) VALUES(?1, ?2, ?3, ?4)");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_int(1, at_ms).bind_text(2, shop).bind_text(3, action);
  if (customer_id) {
    q.bind_id(4, *customer_id);
  } else {
    q.bind_null(4);
  }
  return q.run();
}

result<outcome> writer::record_data_request(std::string_view shop, id_t customer_id,
                                            std::string_view webhook_id, std::int64_t at_ms) {
  {
    auto s = impl_->stmt(
        "INSERT OR IGNORE INTO data_requests(shop, webhook_id, customer_id, at_ms) "
        "VALUES(?1, ?2, ?3, ?4)");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).bind_text(2, webhook_id).bind_id(3, customer_id)
                  .bind_int(4, at_ms).run());
  }
  if (impl_->db->changes() == 0) return outcome::stale;
  STORE_TRY(impl_->audit(shop, "customer_data_request", customer_id, at_ms));
  return outcome::applied;
}

result<outcome> writer::redact_customer(std::string_view shop, id_t customer_id,
                                        const std::vector<id_t>& orders_to_redact,
                                        std::int64_t at_ms) {
  STORE_TRY(impl_->settle_views());
  STORE_TRY(impl_->flush_changes());  // the customer's queued change-log entries go too
  // Emails to search raw bodies for: the profile's and those of its orders.
  std::vector<std::optional<std::string>> emails;
  auto email = stored_email(*impl_, shop, customer_id);
  if (!email) return email.error();
  emails.push_back(std::move(*email));
  std::vector<id_t> orders(orders_to_redact);
  {
    auto s = impl_->stmt(
        "SELECT order_id, lower(email) FROM orders WHERE shop = ?1 AND customer_id = ?2");
    if (!s) return s.error();
    detail::query q(*s);
    q.bind_text(1, shop).bind_id(2, customer_id);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      orders.push_back(q.id_at(0));
      if (!q.text_at(1).empty()) emails.emplace_back(std::string(q.text_at(1)));
    }
  }
  for (id_t order_id : orders) STORE_TRY(erase_order(*impl_, shop, order_id, at_ms));
  for (const auto& address : emails) STORE_TRY(erase_bodies(*impl_, shop, customer_id, address));
  for (const char* sql : {
           "DELETE FROM customers WHERE shop = ?1 AND customer_id = ?2",
           "DELETE FROM tag_events WHERE shop = ?1 AND customer_id = ?2",
           "DELETE FROM changes WHERE shop = ?1 AND customer_id = ?2",
           "DELETE FROM data_requests WHERE shop = ?1 AND customer_id = ?2",
       }) {
    STORE_TRY(impl_->run_shop_id(sql, shop, customer_id));
  }
  STORE_TRY(impl_->tombstone_customer(shop, customer_id, at_ms, "redacted"));
  STORE_TRY(impl_->audit(shop, "customer_redact", customer_id, at_ms));
  impl_->touch(shop, customer_id);
  return outcome::applied;
}

result<outcome> writer::redact_shop(std::string_view shop, std::int64_t at_ms) {
  // The claims and currencies this transaction gathered for the shop are written (and then
  // erased with it) now, not after the erasure.
  STORE_TRY(impl_->flush_shops());
  STORE_TRY(impl_->settle_views());
  STORE_TRY(impl_->flush_changes());
  for (const char* sql : shop_tables) {
    auto s = impl_->stmt(sql);
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).run());
  }
  STORE_TRY(impl_->audit(shop, "shop_redact", std::nullopt, at_ms));
  return outcome::applied;
}

}  // namespace store

// A customer's export: everything the store holds about one customer, for a data request.
#include "customer_reads.hpp"
#include "reader_impl.hpp"
#include "writer_impl.hpp"

namespace store {
namespace {

using detail::query;

// Whether `body` names the customer: its id as a whole number, or its email in any case. The
// SQL prefilter (instr) also matches an id inside a longer number; another customer's payload
// must not be exported.
bool mentions(std::string_view body, const std::string& id_text, const std::optional<std::string>& email) {
  for (auto pos = body.find(id_text); pos != std::string_view::npos; pos = body.find(id_text, pos + 1)) {
    const auto end = pos + id_text.size();
    const bool before = pos == 0 || body[pos - 1] < '0' || body[pos - 1] > '9';
    const bool after = end == body.size() || body[end] < '0' || body[end] > '9';
    if (before && after) return true;
  }
  return email && !email->empty() && detail::ascii_lower(body).find(*email) != std::string::npos;
}

result<void> read_raw(detail::connection& db, std::string_view shop, id_t customer_id,
                      const std::optional<std::string>& email, std::vector<raw_delivery>& out) {
  const std::string id_text = std::to_string(customer_id);
  struct source {
    const char* name;
    const char* sql;
  };
  const source sources[] = {
      {"applied",
       "SELECT webhook_id, '', received_at_ms, body FROM raw_bodies WHERE shop = ?1 AND (instr(body, ?2) > 0 OR "
       "(?3 IS NOT NULL AND instr(lower(body), ?3) > 0)) ORDER BY received_at_ms"},
      {"quarantine",
       "SELECT webhook_id, topic, received_at_ms, body FROM quarantine WHERE shop = ?1 AND (instr(body, ?2) > 0 OR "
       "(?3 IS NOT NULL AND instr(lower(body), ?3) > 0)) ORDER BY id"},
  };
  for (const auto& src : sources) {
    auto s = db.prepare(src.sql);
    if (!s) return s.error();
    query q(*s);
    q.bind_text(1, shop).bind_text(2, id_text).bind_opt_text(3, email);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      if (!mentions(q.text_at(3), id_text, email)) continue;
      out.push_back({src.name, std::string(q.text_at(0)), std::string(q.text_at(1)), q.int_at(2),
                     std::string(q.text_at(3))});
    }
  }
  return {};
}

result<void> read_history(detail::connection& db, std::string_view shop, id_t id, customer_export& e) {
  auto bind = [&](query& q) { q.bind_text(1, shop).bind_id(2, id); };
  static const std::string orders_sql =
      std::string(detail::order_columns) + "WHERE shop = ?1 AND customer_id = ?2 ORDER BY processed_at_ms, order_id";
  auto s = db.prepare(orders_sql.c_str());
  if (!s) return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<order_view>(detail::order_from_row);
    if (!rows) return rows.error();
    e.orders = std::move(*rows);
  }
  if (!(s = db.prepare("SELECT refund_id, order_id, created_at_ms, amount_minor FROM refunds WHERE shop = ?1 AND "
                       "order_id IN (SELECT order_id FROM orders WHERE shop = ?1 AND customer_id = ?2) "
                       "ORDER BY created_at_ms, refund_id")))
    return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<refund_entry>([](const query& r) {
      return refund_entry{r.id_at(0), r.id_at(1), r.int_at(2), r.int_at(3)};
    });
    if (!rows) return rows.error();
    e.refunds = std::move(*rows);
  }
  if (!(s = db.prepare("SELECT at_ms, kind, tags FROM tag_events WHERE shop = ?1 AND customer_id = ?2 ORDER BY at_ms")))
    return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<tag_event_entry>([](const query& r) {
      return tag_event_entry{r.int_at(0), std::string(r.text_at(1)), split_tags(r.text_at(2))};
    });
    if (!rows) return rows.error();
    e.tag_events = std::move(*rows);
  }
  return {};
}

result<void> read_records(detail::connection& db, std::string_view shop, id_t id, customer_export& e) {
  auto bind = [&](query& q) { q.bind_text(1, shop).bind_id(2, id); };
  auto s = db.prepare(
      "SELECT seq, at_ms, shop, customer_id, segment, joined, cause FROM changes WHERE shop = ?1 AND "
      "customer_id = ?2 ORDER BY seq");
  if (!s) return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<membership_change>([](const query& r) -> membership_change {
      return {r.int_at(0), r.int_at(1), std::string(r.text_at(2)), r.id_at(3), std::string(r.text_at(4)),
              r.int_at(5) != 0, std::string(r.text_at(6))};
    });
    if (!rows) return rows.error();
    e.changes = std::move(*rows);
  }
  if (!(s = db.prepare("SELECT webhook_id, at_ms FROM data_requests WHERE shop = ?1 AND customer_id = ?2 ORDER BY at_ms")))
    return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<data_request_entry>([](const query& r) {
      return data_request_entry{std::string(r.text_at(0)), r.int_at(1)};
    });
    if (!rows) return rows.error();
    e.data_requests = std::move(*rows);
  }
  if (!(s = db.prepare("SELECT deleted_id FROM customer_aliases WHERE shop = ?1 AND kept_id = ?2 ORDER BY deleted_id")))
    return s.error();
  {
    query q(*s);
    bind(q);
    auto rows = q.rows<id_t>([](const query& r) { return r.id_at(0); });
    if (!rows) return rows.error();
    e.merged_ids = std::move(*rows);
  }
  if (!(s = db.prepare(
            "SELECT shopify_summary_at_ms, profile_email FROM customers WHERE shop = ?1 AND "
            "customer_id = ?2")))
    return s.error();
  query q(*s);
  bind(q);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return {};
  e.shopify_summary_at_ms = q.opt_int_at(0);
  if (auto profile_email = q.opt_text_at(1); profile_email != e.customer.email)
    e.profile_email = std::move(profile_email);
  return {};
}

}  // namespace

result<std::optional<customer_export>> reader::export_customer(std::string_view shop, id_t customer_id) {
  auto resolved = impl_->resolve_alias(shop, customer_id);
  if (!resolved) return resolved.error();
  auto found = detail::read_customer(*impl_->db, shop, *resolved);
  if (!found) return found.error();
  if (!*found) return std::optional<customer_export>();
  customer_export e;
  e.customer = std::move(**found);
  STORE_TRY(read_history(*impl_->db, shop, *resolved, e));
  STORE_TRY(read_records(*impl_->db, shop, *resolved, e));
  std::optional<std::string> email;
  if (e.customer.email) email = detail::ascii_lower(*e.customer.email);
  STORE_TRY(read_raw(*impl_->db, shop, *resolved, email, e.raw_deliveries));
  return std::optional<customer_export>(std::move(e));
}

}  // namespace store

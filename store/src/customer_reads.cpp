// Shared customer reads (see customer_reads.hpp).
#include "customer_reads.hpp"

#include "store/phone.hpp"
#include "writer_impl.hpp"

namespace store::detail {

result<id_t> read_kept_id(connection& db, std::string_view shop, id_t customer_id) {
  auto s = db.prepare("SELECT kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id = ?2");
  if (!s) return s.error();
  query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  auto row = q.step();
  if (!row) return row.error();
  return *row ? q.id_at(0) : customer_id;
}
namespace {

#define SHOPSEG_CUSTOMER_FIELDS                                                                 \
  "SELECT shop, customer_id, email, phone, first_name, last_name, state, created_at_ms, tags, " \
  "amount_spent_minor, number_of_orders, first_order_at_ms, last_order_at_ms, "                 \
  "largest_order_minor, currency, shopify_amount_spent_minor, shopify_number_of_orders, "       \
  "shopify_currency, updated_at_ms, segments, next_change_at_ms "
constexpr const char* customer_columns = SHOPSEG_CUSTOMER_FIELDS "FROM customers ";
// The same and, as column 21, the shop's last event time: a lookup reads the customers and the
// answer's as_of in one statement, so in one snapshot without a BEGIN and a COMMIT.
constexpr const char* customer_columns_as_of = SHOPSEG_CUSTOMER_FIELDS
    ", (SELECT last_event_at_ms FROM shops WHERE domain = ?1) FROM customers ";
#undef SHOPSEG_CUSTOMER_FIELDS

// Steps a customer lookup to its end: the customers and the as_of column beside them.
result<customer_matches> read_matches(query& q) {
  customer_matches out;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return out;
    out.customers.push_back(customer_from_row(q));
    out.last_event_at_ms = q.opt_int_at(21);
  }
}

}  // namespace

customer_view customer_from_row(const query& q) {
  customer_view c;
  c.shop = q.text_at(0);
  c.customer_id = q.id_at(1);
  c.email = q.opt_text_at(2);
  c.phone = q.opt_text_at(3);
  c.first_name = q.opt_text_at(4);
  c.last_name = q.opt_text_at(5);
  c.state = q.opt_text_at(6);
  c.created_at_ms = q.opt_int_at(7);
  c.tags = split_tags(q.text_at(8));
  c.totals.amount_spent_minor = q.int_at(9);
  c.totals.number_of_orders = q.int_at(10);
  c.totals.first_order_at_ms = q.opt_int_at(11);
  c.totals.last_order_at_ms = q.opt_int_at(12);
  c.totals.largest_order_minor = q.int_at(13);
  c.totals.currency = q.text_at(14);
  c.shopify_amount_spent_minor = q.opt_int_at(15);
  c.shopify_number_of_orders = q.opt_int_at(16);
  c.shopify_currency = q.opt_text_at(17);
  c.updated_at_ms = q.int_at(18);
  c.segments = split_tags(q.text_at(19));
  c.next_change_at_ms = q.opt_int_at(20);
  return c;
}

result<std::optional<customer_view>> read_customer(connection& db, std::string_view shop, id_t customer_id) {
  static const std::string sql = std::string(customer_columns) + "WHERE shop = ?1 AND customer_id = ?2";
  auto s = db.prepare(sql.c_str());
  if (!s) return s.error();
  query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<customer_view>();
  return std::optional<customer_view>(customer_from_row(q));
}

result<customer_matches> read_customers_by_email(connection& db, std::string_view shop,
                                                 std::string_view email) {
  static const std::string sql = std::string(customer_columns_as_of) +
                                 "WHERE shop = ?1 AND email_lower = ?2 ORDER BY customer_id";
  auto s = db.prepare(sql.c_str());
  if (!s) return s.error();
  const std::string lower = ascii_lower(email);
  query q(*s);
  q.bind_text(1, shop).bind_text(2, lower);
  return read_matches(q);
}

result<customer_matches> read_customers_by_phone(connection& db, std::string_view shop,
                                                 std::string_view phone) {
  static const std::string sql = std::string(customer_columns_as_of) +
                                 "WHERE shop = ?1 AND phone_key IN (?2, ?3) ORDER BY customer_id";
  const auto key = phone_key(phone);
  if (!key) return customer_matches();
  const std::string plus = key->front() == '+' ? *key : "+" + *key;
  auto s = db.prepare(sql.c_str());
  if (!s) return s.error();
  query q(*s);
  q.bind_text(1, shop).bind_text(2, *key).bind_text(3, plus);
  return read_matches(q);
}

const char* const order_columns =
    "SELECT shop, order_id, customer_id, name, updated_at_ms, created_at_ms, processed_at_ms, "
    "net_amount_minor, currency, test, cancelled_at_ms, financial_status, fulfillment_status, email, "
    "(SELECT coalesce(sum(amount_minor), 0) FROM refunds r WHERE r.shop = orders.shop AND "
    "r.order_id = orders.order_id) FROM orders ";

order_view order_from_row(const query& q) {
  order_view view;
  view.shop = q.text_at(0);
  order_record& o = view.order;
  o.order_id = q.id_at(1);
  if (!q.null_at(2)) o.customer_id = q.id_at(2);
  o.name = q.text_at(3);
  o.updated_at_ms = q.int_at(4);
  o.created_at_ms = q.int_at(5);
  o.processed_at_ms = q.int_at(6);
  o.net_amount_minor = q.int_at(7);
  o.currency = q.text_at(8);
  o.test = q.int_at(9) != 0;
  o.cancelled_at_ms = q.opt_int_at(10);
  o.financial_status = q.text_at(11);
  o.fulfillment_status = q.text_at(12);
  o.email = q.text_at(13);
  view.refunded_minor = q.int_at(14);
  view.counts = !o.test && !o.cancelled_at_ms && o.financial_status != "voided";
  return view;
}

result<std::vector<ledger_entry>> read_ledger(connection& db, std::string_view shop, id_t customer_id) {
  auto s = db.prepare(
      "SELECT order_id, processed_at_ms, net_amount_minor FROM orders WHERE shop = ?1 AND "
      "customer_id = ?2 AND test = 0 AND cancelled_at_ms IS NULL AND financial_status != 'voided' "
      "ORDER BY processed_at_ms, order_id");
  if (!s) return s.error();
  query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  return q.rows<ledger_entry>([](const query& r) { return ledger_entry{r.id_at(0), r.int_at(1), r.int_at(2)}; });
}

result<std::vector<customer_with_ledger>> read_customers_after(
    connection& db, const std::optional<customer_key>& after, int limit) {
  std::vector<customer_with_ledger> out;
  {
    static const std::string sql =
        std::string(customer_columns) +
        "WHERE (shop, customer_id) > (?1, ?2) ORDER BY shop, customer_id LIMIT ?3";
    auto s = db.prepare(sql.c_str());
    if (!s) return s.error();
    query q(*s);
    if (after)
      q.bind_text(1, after->shop).bind_id(2, after->customer_id);
    else
      q.bind_text(1, "").bind_int(2, INT64_MIN);
    q.bind_int(3, limit);
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back({customer_from_row(q), {}});
    }
  }
  // The ledgers of each shop's run of customers in one scan of orders_by_customer, with the
  // conditions and order of read_ledger.
  auto s = db.prepare(
      "SELECT customer_id, order_id, processed_at_ms, net_amount_minor FROM orders WHERE shop = ?1 "
      "AND "
      "customer_id BETWEEN ?2 AND ?3 AND test = 0 AND cancelled_at_ms IS NULL AND financial_status "
      "!= 'voided' "
      "ORDER BY customer_id, processed_at_ms, order_id");
  if (!s) return s.error();
  for (std::size_t begin = 0; begin < out.size();) {
    std::size_t end = begin;
    while (end < out.size() && out[end].view.shop == out[begin].view.shop) ++end;
    query q(*s);
    q.bind_text(1, out[begin].view.shop)
        .bind_id(2, out[begin].view.customer_id)
        .bind_id(3, out[end - 1].view.customer_id);
    std::size_t at = begin;  // customers and orders both ascend by customer id
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      const id_t id = q.id_at(0);
      while (at < end && out[at].view.customer_id < id) ++at;
      if (at < end && out[at].view.customer_id == id)
        out[at].ledger.push_back({q.id_at(1), q.int_at(2), q.int_at(3)});
    }
    begin = end;
  }
  return out;
}

result<std::optional<std::vector<std::string>>> read_memberships(connection& db, std::string_view shop, id_t customer_id) {
  auto s = db.prepare("SELECT segments FROM customers WHERE shop = ?1 AND customer_id = ?2");
  if (!s) return s.error();
  query q(*s);
  q.bind_text(1, shop).bind_id(2, customer_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::vector<std::string>>();
  return std::optional<std::vector<std::string>>(split_tags(q.text_at(0)));
}

}  // namespace store::detail

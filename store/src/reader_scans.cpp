// Reader operations beyond one customer: phone lookup, the members walk, a reload's walk,
// drift, shops and a quarantined delivery.
#include <limits>

#include "customer_reads.hpp"
#include "reader_impl.hpp"
#include "writer_impl.hpp"

namespace store {
namespace {

bool holds(std::string_view joined, std::string_view name) {
  // `joined` is the comma-joined membership list; names never hold commas.
  for (std::size_t pos = 0; pos <= joined.size();) {
    std::size_t comma = joined.find(',', pos);
    if (comma == std::string_view::npos) comma = joined.size();
    if (joined.substr(pos, comma - pos) == name) return true;
    pos = comma + 1;
  }
  return false;
}

}  // namespace

result<std::vector<customer_view>> reader::customers_by_phone(std::string_view shop, std::string_view phone) {
  auto found = lookup_by_phone(shop, phone);
  if (!found) return found.error();
  return std::move(found->customers);
}

result<std::optional<quarantine_entry>> reader::quarantine_entry_by_id(std::int64_t id) {
  auto s = impl_->db->prepare(
      "SELECT id, shop, webhook_id, topic, api_version, received_at_ms, reason, body FROM quarantine WHERE id = ?1");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_int(1, id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<quarantine_entry>();
  return std::optional<quarantine_entry>(quarantine_entry{
      q.int_at(0), std::string(q.text_at(1)), std::string(q.text_at(2)), std::string(q.text_at(3)),
      std::string(q.text_at(4)), q.int_at(5), std::string(q.text_at(6)), std::string(q.text_at(7))});
}

result<member_page> reader::segment_members(std::string_view segment, const std::optional<std::string>& shop,
                                            const std::optional<customer_key>& after, std::size_t limit,
                                            std::size_t scan_limit) {
  auto s = shop ? impl_->db->prepare(
                      "SELECT shop, customer_id, email, segments FROM customers WHERE shop = ?1 AND "
                      "customer_id > ?2 ORDER BY shop, customer_id LIMIT ?3")
                : impl_->db->prepare(
                      "SELECT shop, customer_id, email, segments FROM customers WHERE (shop, customer_id) > "
                      "(?1, ?2) ORDER BY shop, customer_id LIMIT ?3");
  if (!s) return s.error();
  detail::query q(*s);
  if (shop) q.bind_text(1, *shop);
  else q.bind_text(1, after ? std::string_view(after->shop) : std::string_view(""));  // not NULL
  if (after) q.bind_id(2, after->customer_id);
  else q.bind_int(2, std::numeric_limits<std::int64_t>::min());
  q.bind_int(3, static_cast<std::int64_t>(scan_limit));
  member_page page;
  customer_key last;
  for (;;) {
    auto row = q.step();
    if (!row) return row.error();
    if (!*row) return page;  // the end: no next
    ++page.scanned;
    last = {std::string(q.text_at(0)), q.id_at(1)};
    if (holds(q.text_at(3), segment))
      page.members.push_back({last.shop, last.customer_id, q.opt_text_at(2), split_tags(q.text_at(3))});
    if (page.members.size() >= limit || page.scanned >= scan_limit) break;
  }
  page.next = std::move(last);
  return page;
}

result<std::vector<customer_with_ledger>> reader::customers_after(
    const std::optional<customer_key>& after, int limit) {
  return detail::read_customers_after(*impl_->db, after, limit);
}

result<std::vector<customer_view>> reader::drift(int limit) {
  auto s = impl_->db->prepare(
      "SELECT shop, customer_id FROM customers WHERE shopify_number_of_orders IS NOT NULL AND "
      "(shopify_number_of_orders != number_of_orders OR shopify_amount_spent_minor != amount_spent_minor) "
      "ORDER BY shop, customer_id LIMIT ?1");
  if (!s) return s.error();
  std::vector<customer_key> keys;
  {
    detail::query q(*s);
    q.bind_int(1, limit);
    auto found = q.rows<customer_key>([](const detail::query& r) -> customer_key {
      return {std::string(r.text_at(0)), r.id_at(1)};
    });
    if (!found) return found.error();
    keys = std::move(*found);
  }
  std::vector<customer_view> out;
  for (const auto& k : keys) {
    auto c = detail::read_customer(*impl_->db, k.shop, k.customer_id);
    if (!c) return c.error();
    if (*c) out.push_back(std::move(**c));
  }
  return out;
}

result<std::int64_t> reader::drift_count() {
  return impl_->db->scalar(
      "SELECT count(*) FROM customers WHERE shopify_number_of_orders IS NOT NULL AND "
      "(shopify_number_of_orders != number_of_orders OR shopify_amount_spent_minor != amount_spent_minor)");
}

result<std::vector<shop_activity>> reader::shops() {
  auto s = impl_->db->prepare("SELECT domain, last_event_at_ms, active FROM shops ORDER BY domain");
  if (!s) return s.error();
  detail::query q(*s);
  return q.rows<shop_activity>([](const detail::query& r) -> shop_activity {
    return {std::string(r.text_at(0)), r.opt_int_at(1), r.int_at(2) != 0};
  });
}

}  // namespace store

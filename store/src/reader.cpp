// The read side: a read-only, query-only connection with its own statement cache.
#include "store/reader.hpp"

#include "sqlite.hpp"
#include "customer_reads.hpp"
#include "reader_impl.hpp"
#include "webhook_key.hpp"
#include "writer_impl.hpp"

namespace store {

result<std::unique_ptr<reader>> reader::open(const std::string& path) {
  auto db = detail::connection::open(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (!db) return db.error();
  STORE_TRY((*db)->exec("PRAGMA query_only = ON"));
  // Why no mmap_size: in WAL mode SQLite drops this connection's page cache at the first read
  // transaction after each writer commit, and with the database mapped it also unmaps the whole
  // file then (pagerBeginReadTransaction) and maps it again on the next fetch: with ingest at
  // 1,000 webhooks/s that was an munmap, an mmap and an fstat for one lookup in four, and the
  // munmap of a multi-threaded process (page tables, TLB shootdown on every core, the process's
  // mmap lock) cost about 100 us on average and up to 17 ms. Unmapped, a lookup after a commit
  // reads its few pages back with pread from the OS's file cache.
  // cache_size: with no commit between them, lookups find the email index and hot rows here
  // (32 MiB: 0.5 pread a lookup at one connection without ingest on a 114 MB store of 87,000
  // customers, against 0.8 with 16 MiB).
  STORE_TRY((*db)->exec("PRAGMA cache_size = -32768"));
  STORE_TRY(detail::check_schema(**db));
  auto state = std::make_unique<impl>();
  state->db = std::move(*db);
  return std::unique_ptr<reader>(new reader(std::move(state)));
}

reader::reader(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
reader::~reader() = default;

std::vector<statement_plan> reader::query_plans() { return impl_->db->query_plans(); }

// BEGIN and COMMIT run once per answer: prepared once, not parsed each time.
result<void> reader::begin() {
  auto s = impl_->db->prepare("BEGIN");
  if (!s) return s.error();
  return detail::query(*s).run();
}

void reader::end() noexcept {
  if (sqlite3_get_autocommit(impl_->db->handle())) return;
  if (auto s = impl_->db->prepare("COMMIT")) (void)detail::query(*s).run();
  else (void)impl_->db->exec("COMMIT");
}

result<std::optional<customer_view>> reader::customer(std::string_view shop, id_t customer_id) {
  auto resolved = impl_->resolve_alias(shop, customer_id);
  if (!resolved) return resolved.error();
  return detail::read_customer(*impl_->db, shop, *resolved);
}

result<std::vector<customer_view>> reader::customers_by_email(std::string_view shop,
                                                              std::string_view email) {
  auto found = lookup_by_email(shop, email);
  if (!found) return found.error();
  return std::move(found->customers);
}

result<customer_matches> reader::lookup_by_email(std::string_view shop, std::string_view email) {
  return detail::read_customers_by_email(*impl_->db, shop, email);
}

result<customer_matches> reader::lookup_by_phone(std::string_view shop, std::string_view phone) {
  return detail::read_customers_by_phone(*impl_->db, shop, phone);
}

result<std::vector<ledger_entry>> reader::ledger(std::string_view shop, id_t customer_id) {
  auto resolved = impl_->resolve_alias(shop, customer_id);
  if (!resolved) return resolved.error();
  return detail::read_ledger(*impl_->db, shop, *resolved);
}

result<std::vector<std::string>> reader::memberships(std::string_view shop, id_t customer_id) {
  auto resolved = impl_->resolve_alias(shop, customer_id);
  if (!resolved) return resolved.error();
  auto found = detail::read_memberships(*impl_->db, shop, *resolved);
  if (!found) return found.error();
  return found->value_or(std::vector<std::string>());
}

result<std::vector<membership_change>> reader::changes(std::int64_t after_seq, int limit) {
  auto s = impl_->db->prepare(
      "SELECT seq, at_ms, shop, customer_id, segment, joined, cause FROM changes WHERE seq > ?1 "
      "ORDER BY seq LIMIT ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_int(1, after_seq).bind_int(2, limit);
  return q.rows<membership_change>([](const detail::query& r) -> membership_change {
    return {r.int_at(0), r.int_at(1), std::string(r.text_at(2)), r.id_at(3),
                   std::string(r.text_at(4)), r.int_at(5) != 0, std::string(r.text_at(6))};
  });
}

result<std::pair<std::int64_t, std::int64_t>> reader::spend_rank(std::string_view shop, std::int64_t amount_minor) {
  auto s = impl_->db->prepare(
      "SELECT coalesce(sum(amount_spent_minor < ?2), 0), count(*) FROM customers WHERE shop = ?1 AND "
      "number_of_orders > 0");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_int(2, amount_minor);
  auto row = q.step();
  if (!row) return row.error();
  return std::pair<std::int64_t, std::int64_t>(q.int_at(0), q.int_at(1));
}

result<std::int64_t> reader::last_change_seq() { return impl_->db->scalar("SELECT coalesce(max(seq), 0) FROM changes"); }

result<std::optional<order_view>> reader::order(std::string_view shop, id_t order_id) {
  static const std::string sql = std::string(detail::order_columns) + "WHERE shop = ?1 AND order_id = ?2";
  auto s = impl_->db->prepare(sql.c_str());
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop).bind_id(2, order_id);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<order_view>();
  return std::optional<order_view>(detail::order_from_row(q));
}

result<std::optional<std::int64_t>> reader::last_event_at(std::string_view shop) {
  auto s = impl_->db->prepare("SELECT last_event_at_ms FROM shops WHERE domain = ?1");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return std::optional<std::int64_t>();
  return q.opt_int_at(0);
}

result<std::vector<quarantine_entry>> reader::quarantined(std::int64_t after_id, int limit) {
  auto s = impl_->db->prepare(
      "SELECT id, shop, webhook_id, topic, api_version, received_at_ms, reason, body "
      "FROM quarantine WHERE id > ?1 ORDER BY id LIMIT ?2");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_int(1, after_id).bind_int(2, limit);
  return q.rows<quarantine_entry>([](const detail::query& r) -> quarantine_entry {
    return {r.int_at(0), std::string(r.text_at(1)), std::string(r.text_at(2)),
                       std::string(r.text_at(3)), std::string(r.text_at(4)), r.int_at(5),
                       std::string(r.text_at(6)), std::string(r.text_at(7))};
  });
}

result<bool> reader::delivery_seen(std::string_view shop, std::string_view webhook_id) {
  auto s = impl_->db->prepare(
      "SELECT 1 FROM deliveries WHERE shop_id = (SELECT id FROM shop_keys WHERE domain = ?1) AND "
      "webhook_id = ?2");
  if (!s) return {boost::system::in_place_error, s.error()};
  detail::query q(*s);
  q.bind_text(1, shop);
  detail::bind_webhook_key(q, 2, webhook_id);
  return q.step();
}

}  // namespace store

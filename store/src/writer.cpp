// The writer connection: opening, transactions, delivery claims, quarantine, aggregates and
// retention. Order and customer mutations live in writer_orders.cpp and writer_customers.cpp,
// erasure in writer_erasure.cpp.
#include "store/writer.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "wal_buffer.hpp"
#include "webhook_key.hpp"
#include "writer_impl.hpp"

namespace store {

std::int64_t wall_clock_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

result<std::unique_ptr<writer>> writer::open(const std::string& path, const open_options& options) {
  const int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.create ? SQLITE_OPEN_CREATE : 0);
  // The WAL's frames of a commit go to the file in one write (wal_buffer.hpp); that VFS needs
  // every commit to sync the WAL, which synchronous = FULL below does.
  auto db = detail::connection::open(path, flags, detail::wal_buffer_vfs());
  if (!db) return db.error();
  // Refuse a foreign file before any pragma below writes to it (journal_mode = WAL would
  // rewrite its header).
  STORE_TRY(detail::check_owner(**db));
  // Checkpoints run inside the commit that fills the WAL to wal_autocheckpoint pages and stall
  // that batch behind a database fsync. At 256 pages (1 MiB) each stall is short: at a steady
  // 1,000 webhooks/s the ack p99 fell from about 6 ms (SQLite's default 1,000 pages) to about
  // 3 ms, at a few percent of full-load throughput (bench/README.md).
  // cache_size: the writer's page cache (16 MiB instead of SQLite's 2 MiB) holds the interior
  // pages of every index and the hot leaves, so that a delivery's random pages (its dedup key,
  // its customer) are found there instead of read back from the OS with a pread each.
  STORE_TRY((*db)->exec(
      "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA secure_delete = ON;"
      "PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 256;"
      "PRAGMA cache_size = -16384"));
  STORE_TRY(detail::migrate(**db));
  auto state = std::make_unique<impl>();
  state->db = std::move(*db);
  // The WAL hook replaces SQLite's automatic checkpoint (itself a WAL hook), so it is set only
  // when a checkpointer takes over; it reports the WAL's size after every commit.
  if (options.background_checkpoints)
    sqlite3_wal_hook(
        state->db->handle(),
        [](void* frames, sqlite3*, const char*, int n) {
          *static_cast<int*>(frames) = n;
          return SQLITE_OK;
        },
        &state->wal_frames);
  return std::unique_ptr<writer>(new writer(std::move(state)));
}

writer::writer(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
writer::~writer() = default;

std::vector<statement_plan> writer::query_plans() { return impl_->db->query_plans(); }

std::string writer::path() const {
  const char* file = sqlite3_db_filename(impl_->db->handle(), "main");
  return file ? file : "";
}

result<void> writer::begin() {
  impl_->touched.clear();
  impl_->departed.clear();
  impl_->pending_shops.clear();
  impl_->pending_changes.clear();
  impl_->pending_profiles.clear();
  impl_->forget_views();
  return impl_->db->exec("BEGIN IMMEDIATE");
}

result<void> writer::commit() {
  STORE_TRY(impl_->settle_views());
  STORE_TRY(impl_->flush_shops());
  STORE_TRY(impl_->flush_changes());
  STORE_TRY(impl_->db->exec("COMMIT"));
  impl_->committed_shop_ids = impl_->shop_ids.size();
  return {};
}

int writer::wal_frames() const noexcept { return impl_->wal_frames; }

result<bool> writer::restart_wal() {
  // Why no busy handler: a RESTART checkpoint holds the write lock while it waits for every
  // reader to leave the WAL, and with the connection's 5 s busy timeout a long read (a backup,
  // a members walk) held every webhook behind it, up to 5 s per attempt. Without it SQLite
  // answers SQLITE_BUSY at once and the caller tries again after a later commit.
  sqlite3* db = impl_->db->handle();
  sqlite3_busy_handler(db, nullptr, nullptr);
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
  sqlite3_busy_timeout(db, detail::busy_timeout_ms);
  if (rc == SQLITE_BUSY) return false;
  if (rc != SQLITE_OK) return {boost::system::in_place_error, make_sqlite_error(rc)};
  impl_->wal_frames = 0;
  return true;
}

void writer::rollback() noexcept {
  if (!sqlite3_get_autocommit(impl_->db->handle())) (void)impl_->db->exec("ROLLBACK");
  impl_->touched.clear();
  impl_->departed.clear();
  impl_->pending_shops.clear();
  impl_->pending_changes.clear();
  impl_->pending_profiles.clear();
  impl_->forget_views();
  impl_->shop_ids.resize(impl_->committed_shop_ids);
}

const std::vector<customer_key>& writer::touched() const noexcept { return impl_->touched; }

void detail::writer_state::touch(std::string_view shop, id_t customer_id) {
  forget_views();
  const bool seen = std::any_of(touched.begin(), touched.end(), [&](const customer_key& key) {
    return key.customer_id == customer_id && key.shop == shop;
  });
  if (!seen) touched.push_back({std::string(shop), customer_id});
}

result<void> detail::writer_state::run_shop_id(const char* sql, std::string_view shop, id_t id) {
  auto s = stmt(sql);
  if (!s) return s.error();
  detail::query q(*s);
  return q.bind_text(1, shop).bind_id(2, id).run();
}

detail::writer_state::pending_shop& detail::writer_state::pend_shop(std::string_view shop) {
  for (auto& p : pending_shops)
    if (p.domain == shop) return p;
  return pending_shops.emplace_back(pending_shop{std::string(shop), {}, {}});
}

result<void> detail::writer_state::flush_shops() {
  if (pending_shops.empty()) return {};
  // What ensure_shop and claim_delivery did one delivery at a time, once per shop: a currency
  // given replaces the stored one, the last event time only moves forward, the shop is active.
  auto s = stmt(
      "INSERT INTO shops(domain, currency, last_event_at_ms) VALUES(?1, ?2, ?3) "
      "ON CONFLICT(domain) DO UPDATE SET "
      "currency = iif(excluded.currency != '', excluded.currency, currency), "
      "last_event_at_ms = iif(excluded.last_event_at_ms IS NULL, last_event_at_ms, "
      "max(coalesce(last_event_at_ms, 0), excluded.last_event_at_ms)), active = 1");
  if (!s) return s.error();
  for (const auto& p : pending_shops) {
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, p.domain).bind_text(2, p.currency).bind_opt_int(3, p.last_event).run());
  }
  pending_shops.clear();
  return {};
}

result<std::int64_t> detail::writer_state::shop_key(std::string_view shop) {
  for (const auto& [domain, id] : shop_ids)
    if (domain == shop) return id;
  {
    auto s = stmt("INSERT INTO shop_keys(domain) VALUES(?1) ON CONFLICT DO NOTHING");
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_text(1, shop).run());
  }
  auto s = stmt("SELECT id FROM shop_keys WHERE domain = ?1");
  if (!s) return s.error();
  detail::query q(*s);
  q.bind_text(1, shop);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return make_sqlite_error(SQLITE_INTERNAL);
  shop_ids.emplace_back(std::string(shop), q.int_at(0));
  return shop_ids.back().second;
}

result<void> writer::ensure_shop(std::string_view shop, std::string_view currency) {
  auto& pending = impl_->pend_shop(shop);
  if (!currency.empty()) pending.currency = currency;
  return {};
}

result<bool> writer::claim_delivery(std::string_view shop, std::string_view webhook_id,
                                    std::string_view topic, std::int64_t received_at_ms) {
  (void)topic;  // not kept since schema version 6: nothing read it
  auto shop_id = impl_->shop_key(shop);
  if (!shop_id) return {boost::system::in_place_error, shop_id.error()};
  auto claim = impl_->stmt(
      "INSERT INTO deliveries(shop_id, webhook_id, received_at_ms) VALUES(?1, ?2, ?3) "
      "ON CONFLICT DO NOTHING");
  if (!claim) return {boost::system::in_place_error, claim.error()};
  {
    detail::query q(*claim);
    q.bind_int(1, *shop_id);
    detail::bind_webhook_key(q, 2, webhook_id);
    STORE_TRY(q.bind_int(3, received_at_ms).run());
  }
  if (impl_->db->changes() == 0) return false;
  auto& pending = impl_->pend_shop(shop);
  pending.last_event = std::max(pending.last_event.value_or(received_at_ms), received_at_ms);
  return true;
}

result<void> writer::keep_raw_body(std::string_view shop, std::string_view webhook_id,
                                   std::string_view body) {
  auto s = impl_->stmt(
      "INSERT OR REPLACE INTO raw_bodies(shop, webhook_id, received_at_ms, body) VALUES(?1, ?2, "
      "coalesce((SELECT received_at_ms FROM deliveries WHERE shop_id = (SELECT id FROM shop_keys "
      "WHERE domain = ?1) AND webhook_id = ?5), ?3), ?4)");
  if (!s) return s.error();
  detail::query q(*s);
  detail::bind_webhook_key(q, 5, webhook_id);
  return q.bind_text(1, shop).bind_text(2, webhook_id).bind_int(3, wall_clock_ms())
      .bind_text(4, body).run();
}

result<std::int64_t> writer::quarantine(std::string_view shop, std::string_view webhook_id,
                                        std::string_view topic, std::string_view api_version,
                                        std::int64_t received_at_ms, std::string_view reason,
                                        std::string_view body) {
  auto insert = impl_->stmt(
      "INSERT INTO quarantine(shop, webhook_id, topic, api_version, received_at_ms, reason, body)"
      " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!insert) return insert.error();
  {
    detail::query q(*insert);
    STORE_TRY(q.bind_text(1, shop).bind_text(2, webhook_id).bind_text(3, topic)
                  .bind_text(4, api_version).bind_int(5, received_at_ms).bind_text(6, reason)
                  .bind_text(7, body).run());
  }
  const std::int64_t id = impl_->db->last_insert_rowid();
  // Released so that a retry of the same webhook id is looked at again.
  auto release = impl_->stmt(
      "DELETE FROM deliveries WHERE shop_id = (SELECT id FROM shop_keys WHERE domain = ?1) AND "
      "webhook_id = ?2");
  if (!release) return release.error();
  detail::query q(*release);
  detail::bind_webhook_key(q, 2, webhook_id);
  STORE_TRY(q.bind_text(1, shop).run());
  return id;
}

result<bool> writer::release_quarantined(std::int64_t id) {
  auto s = impl_->stmt("DELETE FROM quarantine WHERE id = ?1");
  if (!s) return {boost::system::in_place_error, s.error()};
  detail::query q(*s);
  STORE_TRY(q.bind_int(1, id).run());
  return impl_->db->changes() > 0;
}

result<bool> writer::requarantine(std::int64_t id, std::string_view reason) {
  auto s = impl_->stmt("UPDATE quarantine SET reason = ?2 WHERE id = ?1");
  if (!s) return {boost::system::in_place_error, s.error()};
  detail::query q(*s);
  STORE_TRY(q.bind_int(1, id).bind_text(2, reason).run());
  return impl_->db->changes() > 0;
}

result<outcome> writer::mark_uninstalled(std::string_view shop, std::int64_t at_ms) {
  STORE_TRY(impl_->flush_shops());
  auto s = impl_->stmt(
      "INSERT INTO shops(domain, active, uninstalled_at_ms) VALUES(?1, 0, ?2) "
      "ON CONFLICT(domain) DO UPDATE SET active = 0, uninstalled_at_ms = excluded.uninstalled_at_ms");
  if (!s) return s.error();
  detail::query q(*s);
  STORE_TRY(q.bind_text(1, shop).bind_int(2, at_ms).run());
  return outcome::applied;
}

result<std::int64_t> writer::prune(std::int64_t now_ms, const retention& keep) {
  STORE_TRY(impl_->flush_changes());  // the log is cut by seq: queued entries take theirs first
  constexpr std::int64_t day_ms = 86'400'000;
  struct rule {
    const char* sql;
    std::int64_t cutoff;
  };
  // raw_body_days = 0 keeps no bodies of applied deliveries: every row goes.
  const rule rules[] = {
      {"DELETE FROM deliveries WHERE received_at_ms < ?1", now_ms - keep.dedup_days * day_ms},
      {"DELETE FROM raw_bodies WHERE received_at_ms < ?1",
       keep.raw_body_days == 0 ? INT64_MAX : now_ms - keep.raw_body_days * day_ms},
      // The log is in time order by seq: it is cut at the first entry young enough to stay.
      {"DELETE FROM changes WHERE seq < coalesce((SELECT seq FROM changes WHERE at_ms >= ?1 "
       "ORDER BY seq LIMIT 1), (SELECT coalesce(max(seq), 0) + 1 FROM changes))",
       now_ms - keep.change_log_days * day_ms},
  };
  std::int64_t removed = 0;
  for (const rule& r : rules) {
    auto s = impl_->stmt(r.sql);
    if (!s) return s.error();
    detail::query q(*s);
    STORE_TRY(q.bind_int(1, r.cutoff).run());
    removed += impl_->db->changes();
  }
  return removed;
}

result<void> writer::checkpoint_truncate() {
  // A background checkpointer may hold the checkpoint lock: SQLite then answers SQLITE_BUSY at
  // once instead of waiting, and an erasure must not leave old pages in the WAL, so retry (for
  // up to about five seconds, the busy timeout readers get too).
  int rc = SQLITE_BUSY;
  for (int attempt = 0; attempt < 5000 && rc == SQLITE_BUSY; ++attempt) {
    rc = sqlite3_wal_checkpoint_v2(impl_->db->handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    if (rc == SQLITE_BUSY) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  return {};
}

}  // namespace store

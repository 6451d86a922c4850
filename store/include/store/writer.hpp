// The write side of the store: the one connection that changes the database.
//
// Exactly one thread owns a writer (the daemon's writer thread). Deliveries are applied inside
// a transaction that the caller opens and commits; a commit is durable (WAL, synchronous=FULL)
// when it returns. Every mutation records the customers it changed in `touched()`;
// refresh_aggregates() recomputes exactly those from their order rows before the commit.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/errors.hpp"
#include "store/records.hpp"

namespace store {

struct open_options {
  bool create = true;  // create the file when it does not exist
  // Leave checkpoints to a store::checkpointer on another thread (and restart_wal()) instead
  // of running them inside the commit that fills the WAL.
  bool background_checkpoints = false;
};

// One record of an import batch (writer::import_batch): an order, with the customer nested in
// its payload if any (profile_source::order_payload; its tags are ignored), or a customer
// payload alone (profile_source::customer_payload).
struct import_item {
  std::optional<order_record> order;
  std::optional<profile_record> profile;
};

struct retention {
  int dedup_days = 7;
  int change_log_days = 30;
  int raw_body_days = 0;  // 0: bodies of applied deliveries are not kept at all
};

enum class outcome {
  applied,     // state changed (or recorded)
  stale,       // a newer or equal version is stored: nothing changed
  tombstoned,  // the order or customer was deleted/redacted: nothing changed
  ignored,     // nothing to do (e.g. a merge that is not completed, an unknown order)
};

class writer {
 public:
  // Opens (creating when allowed) the database at `path`, sets WAL, synchronous=FULL,
  // secure_delete, foreign keys, and runs pending migrations. Errors: the SQLite error;
  // a database of a newer schema version or a foreign database is is_corrupt().
  static result<std::unique_ptr<writer>> open(const std::string& path, const open_options& = {});
  ~writer();
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;

  // The database file's absolute path (to open readers of the same store).
  std::string path() const;

  result<void> begin();   // BEGIN IMMEDIATE; clears touched()
  result<void> commit();  // COMMIT: durable when it returns
  // Frames in the WAL after the last commit (0 when checkpoints are automatic).
  int wal_frames() const noexcept;
  // Copies what the checkpointer left and restarts the WAL from its beginning (the next
  // transaction writes at its start). Outside a transaction. False when it could not: the
  // checkpointer held the checkpoint lock (never waited for) or a reader still used the WAL.
  result<bool> restart_wal();
  void rollback() noexcept;

  // Registers a shop (idempotent); `active` becomes true on any delivery after uninstall.
  result<void> ensure_shop(std::string_view shop, std::string_view currency = {});

  // Claims (shop, webhook_id): true when new, false when it was claimed before (a duplicate).
  // Also advances the shop's last event time to `received_at_ms`.
  result<bool> claim_delivery(std::string_view shop, std::string_view webhook_id,
                              std::string_view topic, std::int64_t received_at_ms);
  // Keeps the raw body of an applied delivery (only when raw bodies are retained).
  result<void> keep_raw_body(std::string_view shop, std::string_view webhook_id,
                             std::string_view body);

  // Stores the order when it is newer than the stored version and not tombstoned. A nested
  // customer profile is upserted with profile_source::order_payload. Moving an order from one
  // customer to another touches both.
  result<outcome> upsert_order(std::string_view shop, const order_record& order,
                               const profile_record* nested_customer);
  // Removes the order (found by id alone) and leaves a tombstone.
  result<outcome> delete_order(std::string_view shop, id_t order_id);
  result<outcome> record_refund(std::string_view shop, id_t refund_id, id_t order_id,
                                std::int64_t created_at_ms, std::int64_t amount_minor);

  result<outcome> upsert_customer(std::string_view shop, const profile_record& profile,
                                  profile_source source);
  // Removes the profile and its orders, leaves a tombstone (ids only).
  result<outcome> delete_customer(std::string_view shop, id_t customer_id);
  // Moves the deleted customer's orders to the kept one, keeps an alias deleted -> kept (later
  // deliveries for the deleted id apply to the kept one), touches both.
  result<outcome> merge_customers(std::string_view shop, id_t kept_id, id_t deleted_id);
  // One tag addition or removal at `occurred_at_ms`, folded with full tag sets in time order.
  result<outcome> change_tags(std::string_view shop, id_t customer_id, bool added,
                              const std::vector<std::string>& tags, std::int64_t occurred_at_ms);
  result<outcome> record_purchasing_summary(std::string_view shop, id_t customer_id,
                                            std::int64_t amount_spent_minor,
                                            std::string_view currency,
                                            std::int64_t number_of_orders,
                                            std::int64_t occurred_at_ms);
  result<outcome> record_data_request(std::string_view shop, id_t customer_id,
                                      std::string_view webhook_id, std::int64_t at_ms);
  // Erases every trace of the customer (profile, orders, the listed orders, tag history,
  // raw bodies mentioning it, memberships) and leaves a tombstone and an audit row without PII.
  result<outcome> redact_customer(std::string_view shop, id_t customer_id,
                                  const std::vector<id_t>& orders_to_redact, std::int64_t at_ms);
  // Erases everything of the shop, leaving an audit row.
  result<outcome> redact_shop(std::string_view shop, std::int64_t at_ms);
  result<outcome> mark_uninstalled(std::string_view shop, std::int64_t at_ms);

  // Keeps a verified delivery that could not be applied. Not deduplicated away: a quarantined
  // delivery's claim is released so that a retry of the same webhook id is looked at again.
  result<std::int64_t> quarantine(std::string_view shop, std::string_view webhook_id,
                                  std::string_view topic, std::string_view api_version,
                                  std::int64_t received_at_ms, std::string_view reason,
                                  std::string_view body);

  // A quarantined delivery retried: `release_quarantined` removes it (it was applied, or was a
  // duplicate), `requarantine` keeps it with a new reason. False when there is no such entry.
  result<bool> release_quarantined(std::int64_t id);
  result<bool> requarantine(std::int64_t id, std::string_view reason);

  // An import batch: applies `items` in order with upsert_order's and upsert_customer's rules
  // (version guards, tombstones, merge aliases) and then recomputes the aggregates of the
  // customers they touched: the store, touched() and the outcomes (one per item) are those of
  // calling upsert_order / upsert_customer for each item and then refresh_aggregates(true).
  // Customers and orders of which nothing is stored (no row, tombstone or alias; most of a
  // first import) are built in memory instead: one row each, inserted in key order with their
  // aggregates, the customer's with its memberships when the segment evaluation that follows
  // records them (or at commit). The rest go through the per-record path.
  result<std::vector<outcome>> import_batch(std::string_view shop,
                                            const std::vector<import_item>& items);

  // Customers changed since begin().
  const std::vector<customer_key>& touched() const noexcept;
  // Recomputes the aggregates of every touched customer from its order rows. With keep_views,
  // customer() and ledger() answer for those customers from what the refresh read, without
  // another lookup, until the next mutation (segment evaluation follows a refresh).
  result<void> refresh_aggregates(bool keep_views = true);

  // Segment state, read and written inside the open transaction (the writer sees its own
  // uncommitted rows). Ids are the stored (alias-resolved) ids of touched().
  result<std::optional<customer_view>> customer(std::string_view shop, id_t customer_id);
  result<std::vector<ledger_entry>> ledger(std::string_view shop, id_t customer_id);
  result<std::vector<std::string>> memberships(std::string_view shop, id_t customer_id);
  // Stores a customer's memberships (`now_in`, sorted) and next change time in one update,
  // written only when either moved, and appends one change-log entry per segment left, then
  // per segment joined. A customer without a row (deleted in this transaction) only logs.
  result<void> record_segments(std::string_view shop, id_t customer_id,
                               const std::vector<std::string>& now_in,
                               const std::vector<std::string>& joined,
                               const std::vector<std::string>& left,
                               std::optional<std::int64_t> next_change_at_ms,
                               std::string_view cause, std::int64_t at_ms);
  // A reload's verdict for a customer, computed from a read snapshot in which its row held the
  // memberships and next change time this transaction will replace: writes what moved
  // (`segments_moved`, `next_moved`) in one update, then logs like record_segments. False, and
  // nothing logged, when the customer has no row any more.
  // REQUIRES: nothing wrote the customer's memberships or next change time since that snapshot.
  result<bool> record_reloaded(std::string_view shop, id_t customer_id,
                               const std::vector<std::string>& now_in, bool segments_moved,
                               bool next_moved, std::optional<std::int64_t> next_change_at_ms,
                               const std::vector<std::string>& joined,
                               const std::vector<std::string>& left, std::string_view cause,
                               std::int64_t at_ms);
  // The memberships of a customer deleted or merged away in this transaction (to log leaves).
  std::vector<std::string> departed_memberships(std::string_view shop, id_t customer_id) const;
  // Customers whose next change is at or before `now_ms`, earliest first.
  result<std::vector<customer_key>> due_customers(std::int64_t now_ms, int limit);
  // The earliest next change of any customer (to arm the timer).
  result<std::optional<std::int64_t>> earliest_next_change();
  // Every customer after `after` (nullopt: from the start) in key order, `limit` at a time.
  // Reads them with their ledgers in two range scans and keeps them, like refresh_aggregates,
  // for customer() and ledger() until the next mutation (a reload evaluates them next).
  result<std::vector<customer_key>> customers_after(const std::optional<customer_key>& after, int limit);
  // Calls `visit` with the stored memberships of every customer that has some (one scan, to
  // rebuild in-memory counts at start).
  result<void> for_each_membership(
      const std::function<void(std::string_view shop, const std::vector<std::string>& segments)>& visit);
  // Every customer with at least one counting order, with its spend.
  result<std::vector<buyer>> buyers();

  // A named setting of the daemon (nullopt when never set), and setting it.
  result<std::optional<std::string>> setting(std::string_view name);
  result<void> set_setting(std::string_view name, std::string_view value);

  // Deletes dedup keys, raw bodies and change-log rows older than the retention allows.
  // Call inside a transaction. Returns the number of rows removed.
  result<std::int64_t> prune(std::int64_t now_ms, const retention& keep);
  // Truncates the WAL so erased data leaves the WAL file too (after a redact). Outside a
  // transaction.
  result<void> checkpoint_truncate();

  // The plans of the statements this connection has prepared so far (diagnostics and tests).
  std::vector<statement_plan> query_plans();

 private:
  struct impl;
  explicit writer(std::unique_ptr<impl>);
  std::unique_ptr<impl> impl_;
};

}  // namespace store

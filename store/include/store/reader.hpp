// The read side of the store: a read-only connection for queries. WAL lets readers run beside
// the writer; a read started after a commit returned sees that commit.
// One reader per thread (not thread-safe); open as many as there are query threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/errors.hpp"
#include "store/records.hpp"

namespace store {

class reader {
 public:
  static result<std::unique_ptr<reader>> open(const std::string& path);
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  // A read transaction: every read until end() sees one snapshot (a customer and its
  // memberships from the same commit). end() is safe without a begin().
  result<void> begin();
  void end() noexcept;

  // The customer, following a merge alias to the kept customer. nullopt: unknown or erased.
  result<std::optional<customer_view>> customer(std::string_view shop, id_t customer_id);
  // Customers whose email matches case-insensitively.
  result<std::vector<customer_view>> customers_by_email(std::string_view shop,
                                                        std::string_view email);
  // Customers whose phone matches after normalising both to digits with an optional leading
  // '+' (store::phone_key); "16135550142" also finds "+1 613-555-0142".
  result<std::vector<customer_view>> customers_by_phone(std::string_view shop, std::string_view phone);
  // The same two lookups with the shop's last event time, read by one statement: one snapshot
  // without begin(), the help desk's lookup in a single read (no BEGIN, no COMMIT, no second
  // statement).
  result<customer_matches> lookup_by_email(std::string_view shop, std::string_view email);
  result<customer_matches> lookup_by_phone(std::string_view shop, std::string_view phone);
  result<std::vector<ledger_entry>> ledger(std::string_view shop, id_t customer_id);
  // Current segment memberships by name (following a merge alias).
  result<std::vector<std::string>> memberships(std::string_view shop, id_t customer_id);
  // (buyers of the shop who spent less than amount_minor, buyers of the shop): the
  // amount_spent_percentile of that spend. Walks the shop's customers (for explain only).
  result<std::pair<std::int64_t, std::int64_t>> spend_rank(std::string_view shop,
                                                           std::int64_t amount_minor);
  // The customers after `after` (nullopt: from the start) in key order, at most `limit`, each
  // with its counting orders: two range scans. Between begin() and end() they are one
  // snapshot (a reload evaluates them off the writer thread).
  result<std::vector<customer_with_ledger>> customers_after(
      const std::optional<customer_key>& after, int limit);
  // Change-log entries with seq > after_seq, oldest first, at most `limit`.
  result<std::vector<membership_change>> changes(std::int64_t after_seq, int limit);
  // The newest change-log sequence number (0 when empty).
  result<std::int64_t> last_change_seq();
  result<std::optional<order_view>> order(std::string_view shop, id_t order_id);
  // Time of the last delivery applied for the shop; nullopt when none.
  result<std::optional<std::int64_t>> last_event_at(std::string_view shop);
  result<std::vector<quarantine_entry>> quarantined(std::int64_t after_id, int limit);
  result<std::optional<quarantine_entry>> quarantine_entry_by_id(std::int64_t id);

  // Members of `segment` in customer-key order after `after` (nullopt: from the start), only
  // of `shop` when given: at most `limit` members, reading at most `scan_limit` customer rows,
  // so that a rare segment costs a bounded walk per page (the page may then hold fewer than
  // `limit` members and still a `next`). There is no membership index by design.
  result<member_page> segment_members(std::string_view segment, const std::optional<std::string>& shop,
                                      const std::optional<customer_key>& after, std::size_t limit,
                                      std::size_t scan_limit);
  // Customers whose aggregates disagree with Shopify's purchasing summary (indexed), at most
  // `limit`, and how many there are.
  result<std::vector<customer_view>> drift(int limit);
  result<std::int64_t> drift_count();
  // Every shop with its last event time.
  result<std::vector<shop_activity>> shops();
  // Everything held about the customer (following a merge alias); nullopt: unknown or erased.
  // Reads the change log and the raw bodies by scanning them (an export is rare and admin-only).
  result<std::optional<customer_export>> export_customer(std::string_view shop, id_t customer_id);
  // Whether (shop, webhook_id) was claimed: used by tests and the crash test.
  result<bool> delivery_seen(std::string_view shop, std::string_view webhook_id);

  // The plans of the statements this connection has prepared so far (diagnostics and tests).
  std::vector<statement_plan> query_plans();

 private:
  struct impl;
  explicit reader(std::unique_ptr<impl>);
  std::unique_ptr<impl> impl_;
};

}  // namespace store

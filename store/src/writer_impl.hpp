// The writer's state and the helpers its mutations share (split across writer*.cpp by topic).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sqlite.hpp"
#include "store/writer.hpp"

namespace store {

namespace detail {

// One profile field as apply_profile's upsert keeps it: the value of the record with the
// greatest key that carried it, the greater value on a tie (a stored value of NULL never wins
// a tie, as SQL's comparison with NULL). True when the offer won.
template <class T>
struct versioned_field {
  std::optional<T> value;
  std::optional<std::int64_t> version;

  bool offer(const std::optional<T>& v, std::int64_t key) {
    if (!v || (version && (key < *version || (key == *version && !(value && *v > *value)))))
      return false;
    value = v;
    version = key;
    return true;
  }
};

// A customer row's profile columns: profile_email, phone, first_name, last_name, state,
// created_at_ms with their versions, and profile_version_ms.
struct stored_profile {
  versioned_field<std::string> email, phone, first_name, last_name, state;
  versioned_field<std::int64_t> created_at_ms;
  std::int64_t profile_version_ms = 0;
};

// The writer's state; writer::impl derives from it so file-local helpers can name it.
struct writer_state {
  std::unique_ptr<connection> db;
  std::vector<customer_key> touched;
  int wal_frames = 0;  // the WAL's size after the last commit (set by the WAL hook)
  // Memberships of customers deleted or merged away in this transaction, so that the segment
  // evaluation that follows can log that they left.
  std::vector<std::pair<customer_key, std::vector<std::string>>> departed;
  // Remembers the memberships of a customer about to be deleted.
  result<void> remember_departure(std::string_view shop, id_t customer_id);

  // Shop rows the open transaction will upsert (claims and currencies), written once per shop
  // by flush_shops() instead of once per delivery: the row is the same hot page every time.
  struct pending_shop {
    std::string domain;
    std::string currency;                    // empty: keep the stored one
    std::optional<std::int64_t> last_event;  // the latest claim's received_at_ms
  };
  std::vector<pending_shop> pending_shops;

  // Change-log entries not yet inserted, in the order they were logged, inserted many rows to a
  // statement by flush_changes(): a reload or an import that makes every membership new logs
  // about three a customer. Flushed before any statement that deletes from the log (erasure,
  // pruning) and before COMMIT.
  struct pending_change {
    std::int64_t at_ms;
    std::string shop;
    id_t customer_id;
    std::string segment;
    bool joined;
    std::string cause;
  };
  std::vector<pending_change> pending_changes;
  result<void> flush_changes();
  pending_shop& pend_shop(std::string_view shop);
  // Writes pending_shops. Runs before any other statement on shops and before COMMIT.
  result<void> flush_shops();

  // Customers as refresh_aggregates() left them (row and counting orders), so that the segment
  // evaluation that follows reads and writes them without another lookup. Only filled after
  // the transaction's mutations; every mutation settles it first (settle_views()).
  struct view_entry {
    customer_view view;
    std::vector<ledger_entry> ledger;
    // The refreshed aggregates (and email) are not written yet: the segment evaluation writes
    // them with the memberships in one UPDATE (a customer row rewrite costs as much as a
    // lookup), or settle_views() does.
    bool totals_pending = false;
    // A customer an import batch built in memory (writer_import.cpp) has no row yet: the whole
    // row is inserted once, with the memberships the segment evaluation set in the view, by
    // settle_views() (before any other statement could read it, and before COMMIT).
    struct new_row {
      std::int64_t profile_version_ms = 0;
      bool from_customer_payload = false;
      std::optional<std::string> profile_email;
      // customers.<field>_version of email, phone, first_name, last_name, state, created_at.
      std::optional<std::int64_t> email_version, phone_version, first_name_version,
          last_name_version, state_version, created_at_version;
    };
    std::optional<new_row> insert_pending;
  };
  std::vector<view_entry> views;
  // views by customer id, filled by find_view once there are many (an import batch keeps
  // thousands; a delivery batch a few, found by a scan).
  std::unordered_multimap<id_t, std::size_t> view_index;
  view_entry* find_view(std::string_view shop, id_t customer_id);
  // Writes what the views hold pending and empties them. Before any mutation, before a read
  // of aggregates through SQL, and before COMMIT.
  // Pending profiles too, unless keep_profiles (a mutation that never reads them).
  result<void> settle_views(bool keep_profiles = false);
  // Empties the views without writing (a new or rolled-back transaction has none pending).
  void forget_views() noexcept {
    views.clear();
    // Every delivery's touch() lands here: an index left by an import batch is let go of
    // (clear() would zero its whole bucket array each time); a delivery batch never has one.
    if (!view_index.empty()) view_index = {};
  }

  // shop_keys ids by domain (the dedup table's shop key). Entries added since the last commit
  // are dropped on rollback, with the rows that gave them.
  std::vector<std::pair<std::string, std::int64_t>> shop_ids;
  std::size_t committed_shop_ids = 0;
  result<std::int64_t> shop_key(std::string_view shop);

  // A cached statement, ready to bind.
  result<sqlite3_stmt*> stmt(const char* sql) noexcept { return db->prepare(sql); }
  // Runs a statement that takes only (shop, id) and returns no rows.
  result<void> run_shop_id(const char* sql, std::string_view shop, id_t id);

  void touch(std::string_view shop, id_t customer_id);
  // The id later deliveries for `customer_id` apply to (the kept id after a merge).
  result<id_t> resolve_alias(std::string_view shop, id_t customer_id);
  // resolve_alias, and nullopt when the resolved customer is tombstoned: one lookup.
  result<std::optional<id_t>> live_customer(std::string_view shop, id_t customer_id);
  result<bool> customer_tombstoned(std::string_view shop, id_t customer_id);
  result<bool> order_tombstoned(std::string_view shop, id_t order_id);
  // Creates an empty customer row when none exists (a customer known only from orders).
  result<void> ensure_customer(std::string_view shop, id_t customer_id);
  // REQUIRES: `customer_id` resolved and not tombstoned.
  result<outcome> apply_profile(std::string_view shop, id_t customer_id,
                                const profile_record& profile, profile_source source);

  // Order payloads' nested customers, applied in memory by the refresh that rewrites the row
  // (merge_profiles), else by flush_profiles() before any statement that could read or change
  // those rows (settle_views() flushes them unless told not to). A customer that has no row
  // yet gets it then: until a flush or its refresh, the row may not exist.
  struct pending_profile {
    customer_key key;
    profile_record profile;
  };
  std::vector<pending_profile> pending_profiles;
  // apply_profile(..., order_payload), left pending for a customer the caller touches.
  // REQUIRES: `customer_id` resolved and not tombstoned.
  void defer_profile(std::string_view shop, id_t customer_id, const profile_record& profile);
  // Applies the pending records through SQL (those of `only`, when given) and drops them.
  result<void> flush_profiles(const customer_key* only = nullptr);
  bool has_pending_profile(const customer_key& key) const noexcept;
  // Applies and drops the records pending for `key` to its row's profile as read; true when
  // they changed it.
  bool merge_profiles(const customer_key& key, stored_profile& row);
  // Records a tag event (tags normalized) and refolds; true when the event was new.
  result<bool> record_tag_event(std::string_view shop, id_t customer_id, std::int64_t at_ms,
                                std::string_view kind, const std::vector<std::string>& tags);
  // Brings email_lower and phone_key (the lookup indexes) to lower(email) and the phone's key,
  // writing them only on change.
  result<void> sync_lookup_keys(std::string_view shop, id_t customer_id);
  // Recomputes one customer's aggregates (and the email of a customer known only from orders)
  // from its order rows; with keep_views, remembers the row as written and its ledger.
  result<void> refresh_customer(const customer_key& key, std::int64_t now_ms, bool keep_views);
  result<void> tombstone_customer(std::string_view shop, id_t customer_id, std::int64_t at_ms,
                                  std::string_view kind);
  result<void> audit(std::string_view shop, std::string_view action,
                     std::optional<id_t> customer_id, std::int64_t at_ms);
};

}  // namespace detail

namespace detail {
// The version of a profile field a record carries (customers.<field>_version): its
// updated_at_ms, then a customers/* payload before an order's nested customer.
std::int64_t profile_key(std::int64_t updated_at_ms, profile_source source);
// The email a customer shows (customers.email): the newest a profile record carried, else its
// newest order's; for a customer known only from orders, its newest order's first
// (docs/profile_versions.md).
std::optional<std::string> shown_email(bool from_customer_payload,
                                       std::optional<std::string> profile_email,
                                       std::optional<std::string> order_email);
// Appends one change-log entry per segment left, then per segment joined.
result<void> log_changes(writer_state& w, std::string_view shop, id_t customer_id,
                         const std::vector<std::string>& joined,
                         const std::vector<std::string>& left, std::string_view cause,
                         std::int64_t at_ms);
// Inserts the rows of customers an import batch built (view_entry::insert_pending) as their
// views hold them, in the given order, many rows per statement (writer_import.cpp).
result<void> insert_new_customers(writer_state& w,
                                  const std::vector<const writer_state::view_entry*>& rows);
// Names joined with commas, as the customers table stores tags and memberships.
std::string comma_joined(const std::vector<std::string>& names);
// Folds one tag event (kind "set", "add" or "remove"; comma-joined tags) into sorted tags.
void fold_tag_event(std::vector<std::string>& tags, std::string_view kind, std::string_view joined);
// Writes a customer's aggregates, the time it changed and its email (writer_refresh.cpp).
result<void> write_totals(writer_state& w, const customer_key& key, const aggregates& totals,
                          std::int64_t now_ms, const std::optional<std::string>& email);
// write_totals and the profile columns in one row write (writer_profiles.cpp).
result<void> write_row(writer_state& w, const customer_key& key, const aggregates& totals,
                       std::int64_t now_ms, const std::optional<std::string>& email,
                       const stored_profile& profile);
}  // namespace detail

struct writer::impl : detail::writer_state {};

// Wall-clock milliseconds (when the store changed a row; never a version).
std::int64_t wall_clock_ms() noexcept;

// Lower-cased, trimmed, sorted, unique tags, comma-joined (Shopify tags never hold commas).
std::string join_tags(std::vector<std::string> tags);
std::vector<std::string> split_tags(std::string_view joined);

}  // namespace store

// Plain records the store accepts and returns. The store knows nothing of JSON, HTTP or
// Shopify's payload shapes: the daemon maps decoded events onto these.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace store {

using id_t = std::uint64_t;

// One version of an order. The store keeps the newest version per (shop, order id).
struct order_record {
  id_t order_id = 0;
  std::optional<id_t> customer_id;  // nullopt: guest order (kept, counted for no customer)
  std::string name;
  std::int64_t updated_at_ms = 0;  // the version: an older or equal version changes nothing
  std::int64_t created_at_ms = 0;
  std::int64_t processed_at_ms = 0;
  std::int64_t net_amount_minor = 0;
  std::string currency;  // ISO 4217 code of the shop currency
  bool test = false;
  std::optional<std::int64_t> cancelled_at_ms;
  std::string financial_status;
  std::string fulfillment_status;
  std::string email;  // the order's contact email: a customer known only from orders takes
                      // the email of its newest order
};

// What a payload says about a customer. nullopt fields are "not said" and leave what is stored.
struct profile_record {
  id_t customer_id = 0;
  std::int64_t updated_at_ms = 0;  // version of the profile fields (0: unknown)
  std::optional<std::string> email;
  std::optional<std::string> phone;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> state;
  std::optional<std::int64_t> created_at_ms;
  std::optional<std::vector<std::string>> tags;  // a full tag set at updated_at_ms
};

// Where a profile came from. A nested order customer never overrides a customers/* payload
// of the same or newer version, and never carries tags.
enum class profile_source { customer_payload, order_payload };

// Aggregates derived from the customer's counting orders (not test, not cancelled, not
// voided, not deleted). Recomputed from the order rows, never incremented.
struct aggregates {
  std::int64_t amount_spent_minor = 0;
  std::int64_t number_of_orders = 0;
  std::optional<std::int64_t> first_order_at_ms;  // processed_at of the earliest counting order
  std::optional<std::int64_t> last_order_at_ms;
  std::int64_t largest_order_minor = 0;
  std::string currency;  // of the orders; empty when the customer has none
};

// One counting order, as the segment rules see it (the ledger behind windowed figures).
struct ledger_entry {
  id_t order_id = 0;
  std::int64_t processed_at_ms = 0;
  std::int64_t net_amount_minor = 0;
};

struct customer_view {
  std::string shop;
  id_t customer_id = 0;
  std::optional<std::string> email;
  std::optional<std::string> phone;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> state;
  std::optional<std::int64_t> created_at_ms;
  std::vector<std::string> tags;  // folded, lower-cased, sorted, unique
  aggregates totals;
  std::optional<std::int64_t> shopify_amount_spent_minor;  // from purchasing_summary
  std::optional<std::int64_t> shopify_number_of_orders;
  std::optional<std::string> shopify_currency;
  std::int64_t updated_at_ms = 0;  // when the store last changed this customer (wall clock)
  std::vector<std::string> segments;  // current memberships, sorted
  std::optional<std::int64_t> next_change_at_ms;  // when time alone may change them
};

// What a lookup by email or phone found: the matching customers, oldest id first, and the time
// of the last delivery applied for their shop (the answers' as_of), read in one snapshot.
struct customer_matches {
  std::vector<customer_view> customers;
  std::optional<std::int64_t> last_event_at_ms;  // nullopt also when nothing matched
};

// A customer with its counting orders, oldest first (a reload reads them in key order).
struct customer_with_ledger {
  customer_view view;
  std::vector<ledger_entry> ledger;
};

struct order_view {
  std::string shop;
  order_record order;
  bool counts = false;
  bool deleted = false;
  std::int64_t refunded_minor = 0;  // sum of refunds/create recorded against the order
};

// A delivery kept raw because it could not be applied.
struct quarantine_entry {
  std::int64_t id = 0;
  std::string shop;
  std::string webhook_id;
  std::string topic;
  std::string api_version;
  std::int64_t received_at_ms = 0;
  std::string reason;
  std::string body;
};

// A customer the store changed in the current transaction (to re-aggregate, and later to
// re-evaluate segments for).
struct customer_key {
  std::string shop;
  id_t customer_id = 0;
  friend bool operator==(const customer_key&, const customer_key&) = default;
  friend auto operator<=>(const customer_key&, const customer_key&) = default;
};

// A prepared statement and its query plan (EXPLAIN QUERY PLAN details, one line per step), so
// tests and operators can see that every statement is served by an index.
struct statement_plan {
  std::string sql;
  std::vector<std::string> plan;
};

// One entry of the membership change log.
struct membership_change {
  std::int64_t seq = 0;
  std::int64_t at_ms = 0;
  std::string shop;
  id_t customer_id = 0;
  std::string segment;
  bool joined = false;
  std::string cause;  // the webhook id, "clock", "reload" or "import"
};

// A customer with counting orders and its lifetime spend (percentile structures).
struct buyer {
  std::string shop;
  id_t customer_id = 0;
  std::int64_t amount_spent_minor = 0;
};

// A member of a segment, as a page of members lists it.
struct segment_member {
  std::string shop;
  id_t customer_id = 0;
  std::optional<std::string> email;
  std::vector<std::string> segments;  // every current membership (the tier is among them)
};

// One page of a walk over the customers in key order. `next` is the key to continue after
// (nullopt: the walk reached the end).
struct member_page {
  std::vector<segment_member> members;
  std::optional<customer_key> next;
  std::size_t scanned = 0;  // customer rows read for this page
};

// A shop's traffic, for silence alerts.
struct shop_activity {
  std::string shop;
  std::optional<std::int64_t> last_event_at_ms;
  bool active = true;
};

struct refund_entry {
  id_t refund_id = 0;
  id_t order_id = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t amount_minor = 0;
};

struct tag_event_entry {
  std::int64_t at_ms = 0;
  std::string kind;  // "set", "add" or "remove"
  std::vector<std::string> tags;
};

struct data_request_entry {
  std::string webhook_id;
  std::int64_t at_ms = 0;
};

// A raw body that mentions a customer: kept for an applied delivery, or in quarantine.
struct raw_delivery {
  std::string source;  // "applied" or "quarantine"
  std::string webhook_id;
  std::string topic;   // empty for applied bodies (not stored with them)
  std::int64_t received_at_ms = 0;
  std::string body;
};

// Everything the store holds about one customer (a customers/data_request).
struct customer_export {
  customer_view customer;
  std::optional<std::int64_t> shopify_summary_at_ms;
  // The newest email a profile record carried, when the customer shows another (a customer
  // known only from orders shows its newest order's email).
  std::optional<std::string> profile_email;
  std::vector<order_view> orders;
  std::vector<refund_entry> refunds;
  std::vector<tag_event_entry> tag_events;
  std::vector<membership_change> changes;
  std::vector<data_request_entry> data_requests;
  std::vector<id_t> merged_ids;  // customers merged into this one
  std::vector<raw_delivery> raw_deliveries;
};

}  // namespace store

// Plain events decoded from webhook payloads: what a delivery means, with no JSON left in it.
//
// Ids are the 64-bit integers Shopify uses (GraphQL GIDs such as "gid://shopify/Customer/1"
// are reduced to their number); money is in minor units of the shop currency; times are epoch
// milliseconds (UTC).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace shopify {

using id_t = std::uint64_t;

// A customer as described by a customers/* payload or the `customer` object nested in an order.
// Optional fields are those the payload did not carry (absent or null); a present empty string
// stays an empty string.
struct customer_snapshot {
  id_t customer_id = 0;
  std::optional<std::string> email;  // as sent; lower-casing for lookup is the store's job
  std::optional<std::string> phone;
  std::optional<std::string> first_name;
  std::optional<std::string> last_name;
  std::optional<std::string> state;  // "enabled", "disabled", "invited", "declined"
  std::optional<std::int64_t> created_at_ms;
  std::int64_t updated_at_ms = 0;  // 0 when the payload has no updated_at
  // Present only when the payload carried `tags` (API <= 2024-10): the full set, split on ','
  // and trimmed, in payload order.
  std::optional<std::vector<std::string>> tags;
};

// orders/create, updated, paid, cancelled, fulfilled, partially_fulfilled.
struct order_upsert {
  id_t order_id = 0;
  std::optional<id_t> customer_id;            // nullopt: guest order
  std::optional<customer_snapshot> customer;  // the nested customer object, when present
  std::string name;                           // "#1001"
  std::string email;                          // order's contact email (may be empty)
  std::int64_t updated_at_ms = 0;             // the version
  std::int64_t created_at_ms = 0;
  std::int64_t processed_at_ms = 0;  // Shopify's reporting date; created_at when absent
  // current_total_price_set.shop_money.amount (nets refunds and edits), falling back to
  // current_total_price; in minor units of `currency`.
  std::int64_t net_amount_minor = 0;
  std::string currency;  // shop currency (shop_money.currency_code, else `currency`)
  bool test = false;
  std::optional<std::int64_t> cancelled_at_ms;
  std::string financial_status;  // "paid", "pending", "voided", "refunded", ...
  std::string fulfillment_status;
};

struct order_delete {
  id_t order_id = 0;
};

// orders/edited: a trigger only; the amounts arrive with orders/updated.
struct order_edited {
  id_t order_id = 0;
};

struct refund_created {
  id_t refund_id = 0;
  id_t order_id = 0;
  std::int64_t created_at_ms = 0;
  std::int64_t amount_minor = 0;  // sum of the refund's successful refund transactions
  std::string currency;
};

// customers/create, update, enable, disable.
struct customer_upsert {
  customer_snapshot customer;
};

struct customer_delete {
  id_t customer_id = 0;
};

// customers/merge. Only `completed` merges move anything.
struct customer_merge {
  id_t kept_id = 0;
  id_t deleted_id = 0;
  bool completed = false;
};

// customer.tags_added / customer.tags_removed.
struct tags_change {
  id_t customer_id = 0;
  bool added = true;  // false: removed
  std::vector<std::string> tags;
  std::int64_t occurred_at_ms = 0;
};

// customers/purchasing_summary: Shopify's own figures, kept beside ours.
struct purchasing_summary {
  id_t customer_id = 0;
  std::int64_t amount_spent_minor = 0;
  std::string currency;
  std::int64_t number_of_orders = 0;
  std::optional<id_t> last_order_id;
  std::int64_t occurred_at_ms = 0;
};

// customers/data_request (mandatory privacy topic).
struct data_request {
  id_t customer_id = 0;
  std::optional<id_t> request_id;  // data_request.id
  std::vector<id_t> orders_requested;
};

// customers/redact (mandatory privacy topic).
struct customer_redact {
  id_t customer_id = 0;
  std::vector<id_t> orders_to_redact;
};

// shop/redact (mandatory privacy topic): erase everything of the shop.
struct shop_redact {};

struct app_uninstalled {};

// A verified delivery of a topic shopseg does not handle: answered 200 and counted.
struct unknown_topic {};

using event = std::variant<order_upsert, order_delete, order_edited, refund_created,
                           customer_upsert, customer_delete, customer_merge, tags_change,
                           purchasing_summary, data_request, customer_redact, shop_redact,
                           app_uninstalled, unknown_topic>;

}  // namespace shopify

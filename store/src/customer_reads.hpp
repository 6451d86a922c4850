// Reads of one customer shared by the reader and the writer (the writer evaluates segments
// inside its transaction and must see its own uncommitted rows). REQUIRES: the id is already
// resolved through merge aliases.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sqlite.hpp"
#include "store/records.hpp"

namespace store::detail {

// The customer a merged-away id now lives on (customers/merge keeps an alias), else the id.
result<id_t> read_kept_id(connection& db, std::string_view shop, id_t customer_id);
result<std::optional<customer_view>> read_customer(connection& db, std::string_view shop, id_t customer_id);
// Customers whose email matches case-insensitively, and the shop's last event time, in one
// statement (one snapshot).
result<customer_matches> read_customers_by_email(connection& db, std::string_view shop,
                                                 std::string_view email);
// Customers whose phone has the same key (store::phone_key); a key without '+' also matches
// the same digits after a '+'. As read_customers_by_email, one statement.
result<customer_matches> read_customers_by_phone(connection& db, std::string_view shop,
                                                 std::string_view phone);
// The columns order_from_row reads, ending in "FROM orders " (append the WHERE clause).
extern const char* const order_columns;
order_view order_from_row(const query& q);
// The customer's counting orders, oldest first.
result<std::vector<ledger_entry>> read_ledger(connection& db, std::string_view shop, id_t customer_id);
// The customers after `after` (nullopt: from the start) in key order, at most `limit`, each
// with its counting orders oldest first: two range scans instead of two lookups a customer.
result<std::vector<customer_with_ledger>> read_customers_after(
    connection& db, const std::optional<customer_key>& after, int limit);
// The customer's current segment memberships, by name, sorted (nullopt: no such customer).
result<std::optional<std::vector<std::string>>> read_memberships(connection& db, std::string_view shop, id_t customer_id);
// The customer view of a row whose first 21 columns are those of read_customer, in its order
// (shop, customer_id, email, phone, first_name, last_name, state, created_at_ms, tags,
// amount_spent_minor, number_of_orders, first_order_at_ms, last_order_at_ms, largest_order_minor,
// currency, shopify_amount_spent_minor, shopify_number_of_orders, shopify_currency,
// updated_at_ms, segments, next_change_at_ms).
customer_view customer_from_row(const query& q);

}  // namespace store::detail

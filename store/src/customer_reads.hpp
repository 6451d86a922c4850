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

result<std::optional<customer_view>> read_customer(connection& db, std::string_view shop, id_t customer_id);
result<std::vector<customer_view>> read_customers_by_email(connection& db, std::string_view shop,
                                                           std::string_view email);
// Customers whose phone has the same key (store::phone_key); a key without '+' also matches
// the same digits after a '+'.
result<std::vector<customer_view>> read_customers_by_phone(connection& db, std::string_view shop,
                                                           std::string_view phone);
// The columns order_from_row reads, ending in "FROM orders " (append the WHERE clause).
extern const char* const order_columns;
order_view order_from_row(const query& q);
// The customer's counting orders, oldest first.
result<std::vector<ledger_entry>> read_ledger(connection& db, std::string_view shop, id_t customer_id);
// The customer's current segment memberships, by name, sorted (nullopt: no such customer).
result<std::optional<std::vector<std::string>>> read_memberships(connection& db, std::string_view shop, id_t customer_id);

}  // namespace store::detail

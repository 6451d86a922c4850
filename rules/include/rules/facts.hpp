// The plain facts a segment query is evaluated against: one customer's aggregates, profile
// and ledger of counting orders, in civil days and integer minor units. The daemon fills them
// from the store; the rules library never sees the store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rules/query.hpp"

namespace rules {

struct order_fact {
  day on = 0;                     // processed_at as a day in the shop's time zone
  std::int64_t amount_minor = 0;  // net amount
};

// amount_spent_percentile as an exact fraction: 100 × less ÷ buyers.
struct percentile_fact {
  std::int64_t less = 0;    // buying customers of the shop who spent less
  std::int64_t buyers = 0;  // buying customers of the shop (> 0)
};

struct customer_facts {
  int currency_exponent = 2;  // ISO 4217 minor-unit exponent of the shop currency
  std::int64_t amount_spent_minor = 0;
  std::int64_t number_of_orders = 0;
  std::optional<day> first_order_day;
  std::optional<day> last_order_day;
  std::optional<day> added_day;                     // customer_added_date
  std::optional<std::int64_t> largest_order_minor;  // NULL without counting orders
  std::vector<std::string> tags;                    // lower-case
  std::optional<std::string> email_domain;          // lower-case
  std::optional<std::string> account_status;        // upper-case: ENABLED, DISABLED, INVITED, DECLINED
  std::optional<percentile_fact> percentile;        // NULL without counting orders
  std::vector<order_fact> orders;                   // counting orders only, any order
  std::optional<std::int64_t> order_amount_minor;   // order flags: the order's net amount
};

}  // namespace rules

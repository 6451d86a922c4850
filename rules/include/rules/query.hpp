// Shopify's customer segment query language (the subset of SPEC §3): the syntax tree and the
// parser. The grammar, types, date semantics and the percentile definition are in
// rules/grammar.md, beside this code.
//
// The library is pure and synchronous: it knows only the plain customer facts it evaluates
// (facts.hpp) and civil days; time zones are the caller's. Everything here is thread-safe for
// concurrent readers of a parsed query.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rules {

// A civil day: days since 1970-01-01 in the shop's calendar.
using day = std::int32_t;

// 1-based line and column in the source file the query came from.
struct position {
  int line = 1;
  int column = 1;
};

// An exact decimal: mantissa × 10^-scale ("10000.50" is {1000050, 2}).
struct decimal {
  std::int64_t mantissa = 0;
  int scale = 0;
};

// A date operand: an absolute day, or a day relative to today (resolved at evaluation).
struct date_operand {
  enum class kind { absolute, days_ago, months_ago } k = kind::absolute;
  day absolute = 0;  // kind::absolute
  int amount = 0;    // days or months back from today (today = 0 days, yesterday = 1 day)
};

enum class attribute {
  amount_spent,
  number_of_orders,
  first_order_date,
  last_order_date,
  customer_added_date,
  customer_tags,
  customer_email_domain,
  customer_account_status,
  amount_spent_percentile,
  largest_order_amount,
  order_amount,  // `amount` in an order flag: the order's net amount
};

// What a query is about: a customer (segments) or a single order (order flags, whose only
// attribute is the order's net `amount`).
enum class subject { customer, order };

enum class comparison { eq, ne, lt, le, gt, ge };

// One operand of a condition. Which member is set follows from the attribute's type.
struct operand {
  decimal number;
  date_operand date;
  std::string text;  // strings: lower-cased for tags and email domains, upper-cased for states
};

// A parameter of orders_placed MATCHES (...): `amount` and `date` filter the orders, `count`
// and `sum_amount` aggregate the filtered ones.
struct order_parameter {
  enum class name { count, sum_amount, amount, date } n = name::count;
  bool between = false;  // `name BETWEEN low AND high`, else `name op low`
  comparison op = comparison::eq;
  operand low, high;
};

struct condition {
  enum class form { compare, between, contains, not_contains, is_null, is_not_null, matches, not_matches };
  form f = form::compare;
  attribute attr = attribute::amount_spent;  // unused for matches / not_matches
  comparison op = comparison::eq;
  operand low, high;                     // compare: low; between: low and high; contains: low
  std::vector<order_parameter> params;  // matches / not_matches
  position at;                           // where the clause starts
  std::string text;                      // the clause as written, for explain
};

struct expression {
  enum class kind { all_of, any_of, negation, leaf } k = kind::leaf;
  std::vector<std::unique_ptr<expression>> children;  // all_of / any_of: 2+, negation: 1
  condition leaf;                                     // kind::leaf
};

struct query {
  std::unique_ptr<expression> root;
  std::string source;  // the text as written
};

// Where a query's text starts in its file, so errors point into the file (a query inside a
// TOML string starts after its opening quotes).
struct source_location {
  std::string file;
  position start;
};

// Every error found, each as "file:line:col: message".
struct parse_errors {
  std::vector<std::string> messages;
};

// Parses `text`. Constructs of Shopify's language outside the subset (products_purchased,
// shopify_email.opened, rfm_group, ...) are rejected by name.
boost::system::result<query, parse_errors> parse(std::string_view text, const source_location& where,
                                                 subject about = subject::customer);

// The distinct `amount_spent_percentile` thresholds the query compares with (for the daemon's
// percentile tracking), as exact decimals.
std::vector<decimal> percentile_thresholds(const query& q);

[[noreturn]] void throw_exception_from_error(const parse_errors& e, const boost::source_location& loc);

}  // namespace rules

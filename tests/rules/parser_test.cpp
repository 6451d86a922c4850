// Parser tables: every construct of grammar.md parses; every error class reads
// file:line:col: message with the offending text.
#include <doctest/doctest.h>

#include <string>

#include "rules/query.hpp"

namespace {

rules::source_location at(int line = 1, int column = 1) { return {"shop.toml", {line, column}}; }

std::string error_of(std::string_view text, rules::source_location where = at()) {
  auto parsed = rules::parse(text, where);
  REQUIRE_MESSAGE(!parsed.has_value(), text);
  REQUIRE(parsed.error().messages.size() == 1);
  return parsed.error().messages.front();
}

}  // namespace

TEST_CASE("every construct of the subset parses") {
  const char* accepted[] = {
      "number_of_orders >= 10",
      "amount_spent BETWEEN 5000 AND 10000",
      "amount_spent > 10000.50",
      "number_of_orders = 1 OR (amount_spent > 5 AND number_of_orders < 3)",
      "customer_tags CONTAINS 'influencer'",
      "customer_tags NOT CONTAINS \"wholesale\"",
      "last_order_date IS NULL",
      "last_order_date IS NOT NULL",
      "first_order_date >= 2026-01-31",
      "last_order_date = today",
      "last_order_date = yesterday",
      "last_order_date <= -90d AND first_order_date > -2w",
      "customer_added_date > -12m OR customer_added_date < -1y",
      "last_order_date < 90_days_ago",
      "last_order_date < 2_weeks_ago OR last_order_date < 12_months_ago OR last_order_date < 1_year_ago",
      "orders_placed MATCHES (sum_amount > 10000, date >= -12m)",
      "orders_placed NOT MATCHES (date >= -90d)",
      "orders_placed MATCHES (count >= 10, date BETWEEN -12m AND today)",
      "orders_placed MATCHES (amount > 2500)",
      "orders_placed MATCHES (count BETWEEN 2 AND 5, amount BETWEEN 10 AND 20.5)",
      "customer_email_domain = 'gmail.com'",
      "customer_account_status = 'enabled'",
      "customer_account_status != 'DISABLED'",
      "amount_spent_percentile >= 80",
      "largest_order_amount > 2500",
      "NOT (amount_spent_percentile >= 80)",
      "NOT NOT number_of_orders = 1",
      "number_of_orders >= 1 -- a comment\n AND amount_spent > 0 -- another",
      "number_of_orders >= 1 and amount_spent > 0 or not customer_tags contains 'x'",
  };
  for (const char* text : accepted) {
    CAPTURE(text);
    auto parsed = rules::parse(text, at());
    CHECK_MESSAGE(parsed.has_value(), (parsed ? "" : parsed.error().messages.front()));
  }
}

TEST_CASE("AND binds tighter than OR") {
  auto q = rules::parse("number_of_orders = 1 OR number_of_orders = 2 AND amount_spent > 3", at()).value();
  REQUIRE(q.root->k == rules::expression::kind::any_of);
  REQUIRE(q.root->children.size() == 2);
  CHECK(q.root->children[0]->k == rules::expression::kind::leaf);
  CHECK(q.root->children[1]->k == rules::expression::kind::all_of);
}

TEST_CASE("clauses keep their text and position, also across lines") {
  auto q = rules::parse("number_of_orders >= 10\n  OR customer_tags CONTAINS 'vip'", at(12, 9)).value();
  REQUIRE(q.root->children.size() == 2);
  const auto& second = q.root->children[1]->leaf;
  CHECK(second.text == "customer_tags CONTAINS 'vip'");
  CHECK(second.at.line == 13);
  CHECK(second.at.column == 6);
  CHECK(q.root->children[0]->leaf.at.column == 9);
}

TEST_CASE("values are normalized: tags and domains lower-case, states upper-case, money exact") {
  auto q = rules::parse("customer_tags CONTAINS 'VIP'", at()).value();
  CHECK(q.root->leaf.low.text == "vip");
  q = rules::parse("customer_account_status = 'enabled'", at()).value();
  CHECK(q.root->leaf.low.text == "ENABLED");
  q = rules::parse("amount_spent > 10000.50", at()).value();
  CHECK(q.root->leaf.low.number.mantissa == 1000050);
  CHECK(q.root->leaf.low.number.scale == 2);
  q = rules::parse("last_order_date <= -2w", at()).value();
  CHECK(q.root->leaf.low.date.k == rules::date_operand::kind::days_ago);
  CHECK(q.root->leaf.low.date.amount == 14);
  q = rules::parse("last_order_date <= -1y", at()).value();
  CHECK(q.root->leaf.low.date.k == rules::date_operand::kind::months_ago);
  CHECK(q.root->leaf.low.date.amount == 12);
}

TEST_CASE("percentile thresholds are collected once each") {
  auto q = rules::parse("amount_spent_percentile >= 80 OR amount_spent_percentile BETWEEN 50 AND 80", at()).value();
  auto t = rules::percentile_thresholds(q);
  REQUIRE(t.size() == 2);
  CHECK(t[0].mantissa == 80);
  CHECK(t[1].mantissa == 50);
}

TEST_CASE("every error class reads file:line:col: message") {
  struct row {
    const char* text;
    const char* expected;
  };
  const row rows[] = {
      {"", "shop.toml:1:1: the query is empty"},
      {"-- only a comment", "shop.toml:1:18: the query is empty"},
      {"products_purchased(tag: 'x') = true", "shop.toml:1:1: 'products_purchased' is part of Shopify's segment language but is not supported"},
      {"shopify_email.opened(date: -30d) = true", "shop.toml:1:1: 'shopify_email.opened' is part of Shopify's segment language"},
      {"number_of_orders > 1 AND rfm_group = 'CHAMPIONS'", "shop.toml:1:26: 'rfm_group' is part of Shopify's segment language"},
      {"amount_spnt > 10", "shop.toml:1:1: unknown attribute 'amount_spnt' (did you mean 'amount_spent'?)"},
      {"frobnicate > 10", "shop.toml:1:1: unknown attribute 'frobnicate'"},
      {"amount_spent >", "shop.toml:1:15: 'amount_spent' needs a number, found the end of the query"},
      {"amount_spent > 'ten'", "shop.toml:1:16: 'amount_spent' needs a number, found 'ten'"},
      {"amount_spent 10", "shop.toml:1:14: expected a comparison (= != < <= > >=), BETWEEN or IS, found '10'"},
      {"amount_spent BETWEEN 1 10", "shop.toml:1:24: expected AND between the bounds of BETWEEN, found '10'"},
      {"last_order_date > 10", "shop.toml:1:19: 'last_order_date' needs a date"},
      {"last_order_date > 2026-02-30", "shop.toml:1:19: '2026-02-30' is not a calendar date (YYYY-MM-DD)"},
      {"last_order_date > 90_fortnights_ago", "shop.toml:1:19: '90_fortnights_ago' is not a date offset"},
      {"customer_tags = 'vip'", "shop.toml:1:15: 'customer_tags' is a list: use CONTAINS or NOT CONTAINS, found '='"},
      {"amount_spent CONTAINS 'x'", "shop.toml:1:14: CONTAINS applies to lists such as customer_tags"},
      {"customer_email_domain > 'a'", "shop.toml:1:23: 'customer_email_domain' can only be compared with = or !="},
      {"customer_account_status = 'ACTIVE'", "shop.toml:1:27: customer_account_status is one of 'ENABLED', 'DISABLED', 'INVITED', 'DECLINED', not 'ACTIVE'"},
      {"last_order_date IS EMPTY", "shop.toml:1:20: expected NULL after IS, found 'EMPTY'"},
      {"(number_of_orders > 1", "shop.toml:1:1: this parenthesis is never closed (found the end of the query)"},
      {"number_of_orders > 1)", "shop.toml:1:21: expected AND, OR or the end of the query, found ')'"},
      {"number_of_orders > 1 number_of_orders < 3", "shop.toml:1:22: expected AND, OR or the end of the query"},
      {"customer_tags CONTAINS 'vip", "shop.toml:1:24: unterminated string"},
      {"number_of_orders > 1 & amount_spent > 2", "shop.toml:1:22: unexpected character '&'"},
      {"orders_placed (count > 1)", "shop.toml:1:15: expected MATCHES (...) after orders_placed"},
      {"orders_placed MATCHES count > 1", "shop.toml:1:23: expected '(' after MATCHES"},
      {"orders_placed MATCHES (total > 1)", "shop.toml:1:24: orders_placed takes count, sum_amount, amount and date, not 'total'"},
      {"orders_placed MATCHES (count > 1 date > -1d)", "shop.toml:1:34: expected ',' or ')' in MATCHES (...)"},
      {"number_of_orders > 99999999999999999999", "shop.toml:1:20: the number '99999999999999999999' is out of range"},
      {"customer_email_domain BETWEEN 'a' AND 'b'", "shop.toml:1:23: BETWEEN needs a number or a date"},
  };
  for (const auto& r : rows) {
    const std::string text = r.text;
    CAPTURE(text);
    const std::string error = error_of(r.text);
    CHECK_MESSAGE(error.rfind(r.expected, 0) == 0, error);
  }
}

TEST_CASE("error positions count lines and columns of the file") {
  CHECK(error_of("number_of_orders > 1\n   AND amount_spnt > 2", at(7, 10)).rfind("shop.toml:8:8: unknown attribute", 0) == 0);
}

TEST_CASE("a clause's text drops comments and folds line breaks") {
  auto q = rules::parse("number_of_orders >= 1   -- at least one\n  AND customer_tags\n CONTAINS 'a -- b'", {"t", {1, 1}}).value();
  CHECK(q.root->children[0]->leaf.text == "number_of_orders >= 1");
  CHECK(q.root->children[1]->leaf.text == "customer_tags CONTAINS 'a -- b'");
}

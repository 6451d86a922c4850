// Evaluation tables, NULL semantics, exact money, dates and month ends, next-change days with
// time travel, explain, and tier exclusivity.
#include <doctest/doctest.h>

#include "rules/catalog.hpp"
#include "rules/evaluate.hpp"

namespace {

using rules::day;
using rules::day_from_civil;

rules::query q(std::string_view text) {
  auto parsed = rules::parse(text, {"t.toml", {1, 1}});
  REQUIRE_MESSAGE(parsed.has_value(), (parsed ? "" : parsed.error().messages.front()));
  return std::move(*parsed);
}

// A customer with counting orders of (day, cents); aggregates derived like the store does.
rules::customer_facts buyer(std::vector<rules::order_fact> orders) {
  rules::customer_facts f;
  for (const auto& o : orders) {
    f.amount_spent_minor += o.amount_minor;
    ++f.number_of_orders;
    if (!f.first_order_day || o.on < *f.first_order_day) f.first_order_day = o.on;
    if (!f.last_order_day || o.on > *f.last_order_day) f.last_order_day = o.on;
    if (!f.largest_order_minor || o.amount_minor > *f.largest_order_minor) f.largest_order_minor = o.amount_minor;
  }
  f.orders = std::move(orders);
  return f;
}

const day today = day_from_civil(2026, 11, 30);

}  // namespace

TEST_CASE("civil days and month arithmetic at month ends") {
  CHECK(day_from_civil(1970, 1, 1) == 0);
  CHECK(rules::format_day(day_from_civil(2026, 2, 28)) == "2026-02-28");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2026, 3, 31), 1)) == "2026-02-28");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2028, 3, 31), 1)) == "2028-02-29");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2028, 2, 29), 12)) == "2027-02-28");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2026, 1, 15), 12)) == "2025-01-15");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2026, 5, 31), 3)) == "2026-02-28");
  CHECK(rules::format_day(rules::months_before(day_from_civil(2026, 1, 31), -1)) == "2026-02-28");
}

TEST_CASE("comparisons on numbers, money, strings and tags") {
  auto f = buyer({{today - 10, 600'000}, {today - 5, 450'050}});  // 10,500.50 USD
  f.tags = {"vip", "race-team"};
  f.email_domain = "example.com";
  f.account_status = "ENABLED";
  struct row {
    const char* text;
    bool expected;
  };
  const row rows[] = {
      {"amount_spent > 10000", true},       {"amount_spent > 10500.50", false},
      {"amount_spent >= 10500.50", true},   {"amount_spent = 10500.5", true},
      {"amount_spent > 10500.499", true},   {"amount_spent BETWEEN 5000 AND 10000", false},
      {"amount_spent BETWEEN 10500.50 AND 20000", true},
      {"number_of_orders = 2", true},       {"number_of_orders != 2", false},
      {"number_of_orders < 2", false},      {"number_of_orders <= 2", true},
      {"largest_order_amount > 5999.99", true}, {"largest_order_amount > 6000", false},
      {"customer_tags CONTAINS 'VIP'", true},   {"customer_tags NOT CONTAINS 'vip'", false},
      {"customer_tags CONTAINS 'influencer'", false},
      {"customer_email_domain = 'EXAMPLE.com'", true}, {"customer_email_domain != 'gmail.com'", true},
      {"customer_account_status = 'enabled'", true},   {"customer_account_status = 'DISABLED'", false},
      {"number_of_orders = 2 OR amount_spent < 0 AND number_of_orders = 9", true},
      {"(number_of_orders = 2 OR amount_spent < 0) AND number_of_orders = 9", false},
      {"NOT number_of_orders = 2", false},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    CHECK(rules::matches(q(r.text), f, today) == r.expected);
  }
}

TEST_CASE("money compares in the shop currency's exponent") {
  auto yen = buyer({{today, 12'345}});  // 12,345 JPY
  yen.currency_exponent = 0;
  CHECK(rules::matches(q("amount_spent = 12345"), yen, today));
  CHECK(rules::matches(q("amount_spent > 12344.99"), yen, today));
  auto dinar = buyer({{today, 1'500}});  // 1.500 KWD
  dinar.currency_exponent = 3;
  CHECK(rules::matches(q("amount_spent = 1.5"), dinar, today));
  CHECK_FALSE(rules::matches(q("amount_spent > 1.5"), dinar, today));
  auto large = buyer({{today, INT64_MAX / 2}, {today, INT64_MAX / 2}});
  CHECK(rules::matches(q("amount_spent > 92233720368547758"), large, today));
}

TEST_CASE("a comparison with NULL is false, NOT is plain negation, IS NULL tests for it") {
  rules::customer_facts none;  // no orders, no profile
  struct row {
    const char* text;
    bool expected;
  };
  const row rows[] = {
      {"last_order_date <= -90d", false},       {"last_order_date > -90d", false},
      {"last_order_date IS NULL", true},        {"last_order_date IS NOT NULL", false},
      {"amount_spent_percentile >= 80", false}, {"amount_spent_percentile < 80", false},
      {"NOT (amount_spent_percentile >= 80)", true}, {"amount_spent_percentile IS NULL", true},
      {"largest_order_amount > 0", false},      {"amount_spent = 0", true},
      {"number_of_orders = 0", true},           {"customer_email_domain = 'x.com'", false},
      {"customer_email_domain != 'x.com'", false}, {"customer_added_date IS NULL", true},
      {"customer_tags NOT CONTAINS 'vip'", true},  {"orders_placed MATCHES (count = 0)", true},
      {"orders_placed MATCHES (date >= -12m)", false}, {"orders_placed NOT MATCHES (date >= -12m)", true},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    CHECK(rules::matches(q(r.text), none, today) == r.expected);
  }
}

TEST_CASE("dates are whole days: -90d is day D-90, BETWEEN includes both ends") {
  auto f = buyer({{today - 90, 100}});
  CHECK(rules::matches(q("last_order_date <= -90d"), f, today));
  CHECK_FALSE(rules::matches(q("last_order_date < -90d"), f, today));
  CHECK(rules::matches(q("last_order_date = 90_days_ago"), f, today));
  CHECK(rules::matches(q("last_order_date BETWEEN -90d AND today"), f, today));
  CHECK_FALSE(rules::matches(q("last_order_date BETWEEN -89d AND today"), f, today));
  CHECK(rules::matches(q("last_order_date = 2026-09-01"), f, today));
  auto g = buyer({{today - 1, 100}});
  CHECK(rules::matches(q("last_order_date = yesterday"), g, today));
  CHECK(rules::matches(q("last_order_date < today"), g, today));
}

TEST_CASE("orders_placed filters by amount and date first, then aggregates") {
  auto f = buyer({{day_from_civil(2025, 11, 30), 900'000},   // exactly 12 months back
                  {day_from_civil(2025, 11, 29), 500'000},   // one day before the window
                  {day_from_civil(2026, 6, 1), 200'000}});
  CHECK(rules::matches(q("orders_placed MATCHES (sum_amount > 10000, date >= -12m)"), f, today));
  CHECK_FALSE(rules::matches(q("orders_placed MATCHES (sum_amount > 11000, date >= -12m)"), f, today));
  CHECK(rules::matches(q("orders_placed MATCHES (count = 2, date >= -12m)"), f, today));
  CHECK(rules::matches(q("orders_placed MATCHES (amount > 4999.99)"), f, today));
  CHECK(rules::matches(q("orders_placed MATCHES (count = 1, amount > 5000)"), f, today));
  CHECK_FALSE(rules::matches(q("orders_placed MATCHES (amount > 9000)"), f, today));
  CHECK(rules::matches(q("orders_placed NOT MATCHES (amount > 9000)"), f, today));
  CHECK(rules::matches(q("orders_placed MATCHES (count BETWEEN 1 AND 1, date BETWEEN 2026-01-01 AND 2026-12-31)"), f, today));
}

TEST_CASE("percentiles compare exactly as fractions") {
  rules::customer_facts f = buyer({{today, 100}});
  f.percentile = rules::percentile_fact{4, 5};  // 80
  CHECK(rules::matches(q("amount_spent_percentile >= 80"), f, today));
  CHECK_FALSE(rules::matches(q("amount_spent_percentile > 80"), f, today));
  f.percentile = rules::percentile_fact{2, 3};  // 66.666...
  CHECK(rules::matches(q("amount_spent_percentile > 66.666"), f, today));
  CHECK_FALSE(rules::matches(q("amount_spent_percentile >= 66.667"), f, today));
}

TEST_CASE("next change: a lapse threshold, a window edge, nothing for absolute dates") {
  auto f = buyer({{today - 10, 100}});
  auto lapsed = q("last_order_date <= -90d");
  auto next = rules::next_change(lapsed, f, today);
  REQUIRE(next.has_value());
  CHECK(*next == today + 80);
  // Time travel: false the day before, true on the day returned.
  CHECK_FALSE(rules::matches(lapsed, f, *next - 1));
  CHECK(rules::matches(lapsed, f, *next));
  CHECK_FALSE(rules::next_change(q("last_order_date <= 2026-01-01"), f, today).has_value());
  CHECK_FALSE(rules::next_change(q("number_of_orders > 1"), f, today).has_value());
  CHECK_FALSE(rules::next_change(lapsed, rules::customer_facts{}, today).has_value());
}

TEST_CASE("next change: an order leaves a 12-month window, month ends included") {
  struct row {
    day placed;
    day last_day_inside;  // the last day on which -12m still reaches back to the order
  };
  const row rows[] = {
      {day_from_civil(2026, 3, 31), day_from_civil(2027, 3, 31)},
      {day_from_civil(2024, 2, 29), day_from_civil(2025, 3, 1) - 1},  // 2025-02-28: -12m is 2024-02-28
      {day_from_civil(2026, 1, 15), day_from_civil(2027, 1, 15)},
  };
  auto window = q("orders_placed MATCHES (sum_amount > 10000, date >= -12m)");
  for (const auto& r : rows) {
    CAPTURE(rules::format_day(r.placed));
    auto f = buyer({{r.placed, 1'000'100}});
    // Follow next_change from the order day: the answer holds on every day up to the last day
    // inside and fails on the day after, and next_change lands on that day (at most one
    // candidate day before it changes nothing).
    day t = r.placed;
    int hops = 0;
    while (rules::matches(window, f, t)) {
      auto next = rules::next_change(window, f, t);
      REQUIRE(next.has_value());
      for (day d = t; d < *next; ++d) REQUIRE(rules::matches(window, f, d));
      t = *next;
      REQUIRE(++hops <= 2);
    }
    CHECK(t == r.last_day_inside + 1);
  }
}

TEST_CASE("next change never skips a flip: brute force over a year of days") {
  const char* queries[] = {"last_order_date <= -90d", "first_order_date > -2w",
                           "last_order_date = -30d", "orders_placed MATCHES (count >= 2, date >= -1m)",
                           "customer_added_date BETWEEN -1y AND -6m", "last_order_date < yesterday"};
  auto f = buyer({{day_from_civil(2026, 1, 31), 100}, {day_from_civil(2026, 3, 15), 100}});
  f.added_day = day_from_civil(2025, 8, 31);
  for (const char* text : queries) {
    CAPTURE(text);
    auto query = q(text);
    for (day d = day_from_civil(2026, 1, 1); d < day_from_civil(2027, 6, 1);) {
      auto next = rules::next_change(query, f, d);
      const day until = next ? std::min(*next, day_from_civil(2027, 6, 1)) : day_from_civil(2027, 6, 1);
      const bool answer = rules::matches(query, f, d);
      for (day e = d + 1; e < until; ++e) REQUIRE(rules::matches(query, f, e) == answer);
      d = until;
    }
  }
}

namespace {

// The candidate day of a month offset as first written: every day of a window around the day
// `m` months after the fact, each mapped back, the first reaching the fact day.
std::optional<day> month_candidate_by_scan(day fact_day, int months, day today) {
  const day inverse = rules::months_before(fact_day, -months);
  for (day t = inverse - 4; t <= inverse + 4; ++t)
    if (t > today && rules::months_before(t, months) >= fact_day) return t;
  return std::nullopt;
}

}  // namespace

TEST_CASE("next change: a month offset lands where a scan of the days around it does") {
  // Month ends, leap days and offsets whose target month is shorter than the fact's.
  for (int months : {1, 2, 6, 12, 13, 24}) {
    const std::string text = "first_order_date >= -" + std::to_string(months) + "m";
    auto query = q(text.c_str());
    for (day fact = day_from_civil(2023, 12, 1); fact < day_from_civil(2025, 3, 1); ++fact) {
      rules::customer_facts f = buyer({{fact, 100}});
      f.first_order_day = fact;
      const day inverse = rules::months_before(fact, -months);
      for (day t : {fact, inverse - 6, inverse - 2, inverse - 1, inverse, inverse + 1, inverse + 3,
                    inverse + 4}) {
        CAPTURE(text);
        CAPTURE(rules::format_day(fact));
        CAPTURE(rules::format_day(t));
        CHECK(rules::next_change(query, f, t) == month_candidate_by_scan(fact, months, t));
      }
    }
  }
}

TEST_CASE("explain shows every clause with the value it saw") {
  auto f = buyer({{today - 100, 250'000}});
  f.tags = {"vip"};
  auto e = rules::explain(q("amount_spent > 10000 OR (customer_tags CONTAINS 'vip' AND last_order_date > -90d)"), f, today);
  CHECK_FALSE(e.matched);
  REQUIRE(e.clauses.size() == 3);
  CHECK(e.clauses[0].clause == "amount_spent > 10000");
  CHECK(e.clauses[0].saw == "2500.00");
  CHECK_FALSE(e.clauses[0].held);
  CHECK(e.clauses[1].saw == "['vip']");
  CHECK(e.clauses[1].held);
  CHECK(e.clauses[2].clause == "last_order_date > -90d");
  CHECK(e.clauses[2].saw == "2026-08-22");
  CHECK_FALSE(e.clauses[2].held);
  CHECK(e.clauses[2].at.column == 59);
  rules::customer_facts none;
  auto n = rules::explain(q("amount_spent_percentile >= 80"), none, today);
  CHECK(n.clauses[0].saw == "NULL");
}

TEST_CASE("tiers are exclusive: the matching tier with the lowest number wins") {
  std::vector<rules::segment_definition> segments;
  segments.push_back({"silver", 3, std::make_shared<const rules::query>(q("amount_spent > 100"))});
  segments.push_back({"platinum", 1, std::make_shared<const rules::query>(q("amount_spent > 10000"))});
  segments.push_back({"gold", 2, std::make_shared<const rules::query>(q("amount_spent > 5000"))});
  segments.push_back({"repeat", std::nullopt, std::make_shared<const rules::query>(q("number_of_orders >= 2"))});
  auto big = buyer({{today, 600'000}, {today, 100}});
  auto m = rules::evaluate_segments(segments, big, today);
  REQUIRE(m.tier.has_value());
  CHECK(segments[*m.tier].name == "gold");
  CHECK(m.segments == std::vector<std::size_t>{2, 3});
  auto none = rules::evaluate_segments(segments, rules::customer_facts{}, today);
  CHECK_FALSE(none.tier.has_value());
  CHECK(none.segments.empty());
}

TEST_CASE("order flags test the order's net amount only") {
  auto flag = rules::parse("amount > 5000 AND amount <= 10000", {"t.toml", {1, 1}}, rules::subject::order);
  REQUIRE(flag.has_value());
  rules::customer_facts order;
  order.order_amount_minor = 750'000;
  CHECK(rules::matches(*flag, order, today));
  order.order_amount_minor = 1'000'001;
  CHECK_FALSE(rules::matches(*flag, order, today));
  auto wrong = rules::parse("amount_spent > 5", {"t.toml", {1, 1}}, rules::subject::order);
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().messages.front() == "t.toml:1:1: an order flag tests the order's net amount only: use 'amount', not 'amount_spent'");
  auto customer = rules::parse("amount > 5", {"t.toml", {1, 1}});
  REQUIRE_FALSE(customer.has_value());
  CHECK(customer.error().messages.front().find("'amount' is an order's amount") != std::string::npos);
}

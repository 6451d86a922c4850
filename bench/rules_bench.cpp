// Micro-benchmark: evaluating 20 segments (the shipped VIP guide plus typical merchant
// segments) for one customer with 25 counting orders, and their next-change day.
//   build-bench/bench/rules_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "rules/catalog.hpp"

namespace {

const char* queries[20] = {
    "orders_placed MATCHES (sum_amount > 10000, date >= -12m) OR (customer_tags CONTAINS 'professional-shop' "
    "AND orders_placed MATCHES (count >= 10, date >= -12m)) OR customer_tags CONTAINS 'sponsored-team' OR "
    "customer_tags CONTAINS 'influencer' OR customer_tags CONTAINS 'referral-champion'",
    "orders_placed MATCHES (sum_amount BETWEEN 5000 AND 10000, date >= -12m) OR number_of_orders >= 10 OR "
    "customer_tags CONTAINS 'champion-racer' OR customer_tags CONTAINS 'community-member'",
    "largest_order_amount > 2500 OR customer_tags CONTAINS 'new-shop' OR customer_tags CONTAINS 'race-team' OR "
    "customer_tags CONTAINS 'early-adopter'",
    "number_of_orders = 1",
    "number_of_orders >= 2",
    "amount_spent_percentile >= 80",
    "number_of_orders >= 1 AND last_order_date <= -90d",
    "amount_spent > 500 AND last_order_date >= -30d",
    "customer_email_domain = 'gmail.com'",
    "customer_account_status = 'ENABLED' AND number_of_orders >= 3",
    "first_order_date >= -1y",
    "customer_added_date <= -2y AND amount_spent > 1000",
    "orders_placed MATCHES (count >= 3, date >= -90d)",
    "orders_placed NOT MATCHES (date >= -180d)",
    "amount_spent BETWEEN 1000 AND 5000",
    "customer_tags NOT CONTAINS 'wholesale' AND amount_spent > 200",
    "last_order_date BETWEEN -60d AND -30d",
    "orders_placed MATCHES (amount > 1000, date >= -6m)",
    "NOT (amount_spent_percentile >= 50)",
    "number_of_orders > 20 OR amount_spent > 20000",
};

std::vector<rules::segment_definition> definitions() {
  std::vector<rules::segment_definition> out;
  for (int i = 0; i < 20; ++i)
    out.push_back({"s" + std::to_string(i), i < 3 ? std::optional<int>(i + 1) : std::nullopt,
                   std::make_shared<const rules::query>(std::move(rules::parse(queries[i], {"bench", {1, 1}}).value()))});
  return out;
}

rules::customer_facts customer(rules::day today) {
  rules::customer_facts f;
  for (int i = 0; i < 25; ++i) f.orders.push_back({today - 30 * i, 25'000 + 1'000 * i});
  for (const auto& o : f.orders) f.amount_spent_minor += o.amount_minor;
  f.number_of_orders = 25;
  f.first_order_day = today - 720;
  f.last_order_day = today;
  f.added_day = today - 800;
  f.largest_order_minor = 49'000;
  f.tags = {"community-member", "race-team"};
  f.email_domain = "example.com";
  f.account_status = "ENABLED";
  f.percentile = rules::percentile_fact{812, 1000};
  return f;
}

void evaluate_20_segments(benchmark::State& state) {
  const auto segments = definitions();
  const rules::day today = rules::day_from_civil(2026, 12, 1);
  const auto facts = customer(today);
  for (auto _ : state) benchmark::DoNotOptimize(rules::evaluate_segments(segments, facts, today));
}
BENCHMARK(evaluate_20_segments);

void next_change_20_segments(benchmark::State& state) {
  const auto segments = definitions();
  const rules::day today = rules::day_from_civil(2026, 12, 1);
  const auto facts = customer(today);
  for (auto _ : state) benchmark::DoNotOptimize(rules::next_change(segments, facts, today));
}
BENCHMARK(next_change_20_segments);

}  // namespace

BENCHMARK_MAIN();

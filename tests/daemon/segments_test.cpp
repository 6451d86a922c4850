// The segment engine against a real store file: evaluation inside the transaction, the change
// log and its causes, the clock (time travel through the injected `now`), shop time zones
// around midnight and DST, and percentile thresholds moved by another customer's order.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "calendar.hpp"
#include "rules/evaluate.hpp"
#include "segments.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"

namespace {

constexpr const char* shop = "seg.myshopify.com";
constexpr std::int64_t day_ms = 86'400'000;

shopsegd::config make_config(const std::string& segments, const std::string& tz = "UTC") {
  auto c = shopsegd::parse_config("[webhook]\nsecrets = [\"s\"]\n[[shop]]\ndomain = \"seg.myshopify.com\"\n"
                                  "timezone = \"" + tz + "\"\n" + segments, "t.toml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().messages.front()));
  return std::move(*c);
}

// 2026-06-01T12:00:00Z and friends.
std::int64_t at(int y, unsigned m, unsigned d, int hour = 12, int minute = 0) {
  return (static_cast<std::int64_t>(rules::day_from_civil(y, m, d)) * 86400 + hour * 3600 + minute * 60) * 1000;
}

struct fixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / ("shopseg-seg-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
  shopsegd::config cfg;
  std::unique_ptr<store::writer> w;
  std::unique_ptr<store::reader> r;
  std::unique_ptr<shopsegd::segment_engine> engine;
  int webhook = 0;

  static int& counter() {
    static int n = 0;
    return n;
  }
  explicit fixture(const std::string& segments, const std::string& tz = "UTC") : cfg(make_config(segments, tz)) {
    std::filesystem::create_directories(dir);
    w = std::move(store::writer::open((dir / "s.db").string()).value());
    r = std::move(store::reader::open((dir / "s.db").string()).value());
    engine = std::make_unique<shopsegd::segment_engine>(std::make_shared<const shopsegd::config>(cfg));
    REQUIRE(engine->rebuild_ranks(*w).has_value());
  }
  ~fixture() { std::filesystem::remove_all(dir); }

  // One delivery: an order of `cents` for `customer`, processed at `processed_ms`, evaluated at `now`.
  shopsegd::evaluation_stats order(store::id_t customer, std::int64_t cents, std::int64_t processed_ms, std::int64_t now) {
    store::order_record o;
    o.order_id = 1000 + static_cast<store::id_t>(++webhook);
    o.customer_id = customer;
    o.updated_at_ms = o.created_at_ms = o.processed_at_ms = processed_ms;
    o.net_amount_minor = cents;
    o.currency = "USD";
    o.financial_status = "paid";
    REQUIRE(w->begin().has_value());
    REQUIRE(w->upsert_order(shop, o, nullptr).has_value());
    REQUIRE(w->refresh_aggregates().has_value());
    std::vector<shopsegd::evaluation_request> requests;
    for (const auto& key : w->touched()) requests.push_back({key, "wh-" + std::to_string(webhook)});
    auto stats = engine->evaluate(*w, requests, now);
    REQUIRE(stats.has_value());
    REQUIRE(w->commit().has_value());
    return *stats;
  }
  // One transaction holding an order for each (customer, cents), evaluated together, as a
  // group commit of several deliveries or an import batch does.
  void batch(const std::vector<std::pair<store::id_t, std::int64_t>>& orders, std::int64_t now) {
    REQUIRE(w->begin().has_value());
    for (const auto& [customer, cents] : orders) {
      store::order_record o;
      o.order_id = 1000 + static_cast<store::id_t>(++webhook);
      o.customer_id = customer;
      o.updated_at_ms = o.created_at_ms = o.processed_at_ms = now;
      o.net_amount_minor = cents;
      o.currency = "USD";
      o.financial_status = "paid";
      REQUIRE(w->upsert_order(shop, o, nullptr).has_value());
    }
    REQUIRE(w->refresh_aggregates().has_value());
    std::vector<shopsegd::evaluation_request> requests;
    for (const auto& key : w->touched()) requests.push_back({key, "batch"});
    REQUIRE(engine->evaluate(*w, requests, now).has_value());
    REQUIRE(w->commit().has_value());
  }
  shopsegd::evaluation_stats tick(std::int64_t now) {
    REQUIRE(w->begin().has_value());
    auto stats = engine->tick(*w, now, 1000);
    REQUIRE(stats.has_value());
    REQUIRE(w->commit().has_value());
    return *stats;
  }
  std::vector<std::string> segments_of(store::id_t customer) { return r->memberships(shop, customer).value(); }
  std::vector<store::membership_change> log() { return r->changes(0, 1000).value(); }
  std::optional<std::int64_t> next_change() {
    REQUIRE(w->begin().has_value());
    auto next = w->earliest_next_change().value();
    REQUIRE(w->commit().has_value());
    return next;
  }
};

const std::string vip = R"toml(
[[segment]]
name = "gold"
tier = 2
query = "amount_spent >= 5000"
[segment.service]
priority = "high"
response_minutes = 120
[[segment]]
name = "platinum"
tier = 1
query = "orders_placed MATCHES (sum_amount > 10000, date >= -12m)"
[segment.service]
priority = "urgent"
[[segment]]
name = "repeat"
query = "number_of_orders >= 2"
[segment.service]
response_minutes = 30
handler = "loyalty-team"
[[segment]]
name = "lapsed"
query = "number_of_orders >= 1 AND last_order_date <= -90d"
)toml";

}  // namespace

TEST_CASE("a delivery's customers are evaluated in its transaction and every change is logged with its cause") {
  fixture f(vip);
  const auto now = at(2026, 6, 1);
  f.order(7, 600'000, now, now);  // 6,000.00
  CHECK(f.segments_of(7) == std::vector<std::string>{"gold"});
  f.order(7, 500'000, now, now);  // 11,000.00 within 12 months: platinum wins over gold
  CHECK(f.segments_of(7) == std::vector<std::string>{"platinum", "repeat"});
  auto log = f.log();
  REQUIRE(log.size() == 4);
  CHECK((log[0].segment == "gold" && log[0].joined && log[0].cause == "wh-1"));
  CHECK((log[1].segment == "gold" && !log[1].joined && log[1].cause == "wh-2"));
  CHECK((log[2].segment == "platinum" && log[2].joined));
  CHECK((log[3].segment == "repeat" && log[3].joined));
}

TEST_CASE("tier, segments and service: the tier's attributes, then others in config order, then the default") {
  auto cfg = make_config(vip);
  auto s = shopsegd::resolve_segments(cfg, {"gold", "repeat"});
  CHECK(s.tier == "gold");
  CHECK(s.segments == std::vector<std::string>{"gold", "repeat"});
  auto get = [&](const std::string& k) {
    for (const auto& [key, v] : s.service)
      if (key == k) return v;
    return std::string("missing");
  };
  CHECK(get("priority") == "\"high\"");
  CHECK(get("response_minutes") == "120");  // the tier's value beats repeat's 30
  CHECK(get("handler") == "\"loyalty-team\"");
  auto none = shopsegd::resolve_segments(cfg, {});
  CHECK_FALSE(none.tier.has_value());
  CHECK(none.service.size() == 2);  // [default_service] only
}

TEST_CASE("the clock moves a customer into lapsed exactly on day 90, with no event") {
  fixture f(vip);
  const auto placed = at(2026, 6, 1, 15);
  f.order(7, 1'000, placed, placed);
  f.order(8, 1'000, placed + 10 * day_ms, placed + 10 * day_ms);  // another customer, due later
  CHECK(f.segments_of(7).empty());
  const auto due = f.next_change();
  REQUIRE(due.has_value());
  CHECK(*due == at(2026, 8, 30, 0));  // 2026-06-01 + 90 days, at midnight UTC
  // The day before: nothing is due, nothing is evaluated.
  CHECK(f.tick(*due - 1).evaluated == 0);
  CHECK(f.segments_of(7).empty());
  // At the due time only the due customer is evaluated, and it joins with cause "clock".
  auto stats = f.tick(*due);
  CHECK(stats.evaluated == 1);
  CHECK(f.segments_of(7) == std::vector<std::string>{"lapsed"});
  CHECK(f.log().back().cause == "clock");
  CHECK(f.segments_of(8).empty());
  // A new order brings it back at once (same transaction as the delivery).
  f.order(7, 1'000, *due + day_ms, *due + day_ms);
  CHECK(f.segments_of(7) == std::vector<std::string>{"repeat"});
}

TEST_CASE("an order leaves the 12-month window on the clock: platinum falls back to gold") {
  fixture f(vip);
  const auto placed = at(2025, 3, 31, 18);
  f.order(7, 1'100'000, placed, placed);
  CHECK(f.segments_of(7) == std::vector<std::string>{"platinum"});
  // Follow the clock from due time to due time until the tier changes (lapsed joins on the
  // way, 90 days after the order).
  auto in = [&](const char* name) {
    auto s = f.segments_of(7);
    return std::find(s.begin(), s.end(), name) != s.end();
  };
  std::int64_t now = placed;
  for (int hops = 0; in("platinum"); ++hops) {
    REQUIRE(hops < 6);
    auto due = f.next_change();
    REQUIRE(due.has_value());
    now = *due;
    f.tick(now);
  }
  CHECK(f.segments_of(7) == std::vector<std::string>{"gold", "lapsed"});
  CHECK(now == at(2026, 4, 1, 0));  // on 2026-03-31, -12m still reaches back to 2025-03-31
}

TEST_CASE("days are shop-local: an order late in the evening in Chicago is that evening's day") {
  fixture f(vip, "America/Chicago");
  // 2026-03-08 04:30Z is 22:30 CST on 2026-03-07; DST starts in Chicago at 2:00 on 03-08.
  const auto placed = at(2026, 3, 8, 4, 30);
  f.order(7, 1'000, placed, placed);
  const auto due = f.next_change();
  REQUIRE(due.has_value());
  // 2026-03-07 + 90 days = 2026-06-05, local midnight in CDT (UTC-5) = 05:00Z.
  CHECK(*due == at(2026, 6, 5, 5));
  shopsegd::calendar days(f.cfg);
  CHECK(rules::format_day(days.day_of(shop, placed)) == "2026-03-07");
  // The start of the DST day itself: midnight CST = 06:00Z.
  CHECK(days.start_of(shop, rules::day_from_civil(2026, 3, 8)) == at(2026, 3, 8, 6));
  CHECK(days.start_of(shop, rules::day_from_civil(2026, 3, 9)) == at(2026, 3, 9, 5));
}

TEST_CASE("one customer's order moves others across a percentile threshold, and only those") {
  fixture f(R"toml(
[[segment]]
name = "high-value"
query = "amount_spent_percentile >= 80"
)toml");
  const auto now = at(2026, 6, 1);
  // Spends 100, 200, ..., 1000 for customers 1..10: the top two (less >= 8 of 10) are members.
  for (store::id_t c = 1; c <= 10; ++c) f.order(c, static_cast<std::int64_t>(c) * 100, now, now);
  for (store::id_t c = 1; c <= 10; ++c) {
    CAPTURE(c);
    CHECK((f.segments_of(c) == std::vector<std::string>{"high-value"}) == (c >= 9));
  }
  // Five new big spenders: 15 buyers, members need less >= 12: customers 1..10 all leave.
  std::size_t crossed = 0;
  for (store::id_t c = 11; c <= 15; ++c) {
    const auto stats = f.order(c, 100'000 + static_cast<std::int64_t>(c), now, now);
    // Each order moves the boundary by one buyer: the two buyers around it are re-evaluated.
    CHECK(stats.by_percentile == 2);
    crossed += stats.by_percentile;
  }
  for (store::id_t c = 1; c <= 10; ++c) CHECK(f.segments_of(c).empty());
  for (store::id_t c = 13; c <= 15; ++c) CHECK(f.segments_of(c) == std::vector<std::string>{"high-value"});
  // Exactly the customers at the boundary were re-evaluated, never the whole shop.
  CHECK(crossed == 10);
  auto log = f.log();
  const bool cause_is_webhook = std::all_of(log.begin(), log.end(), [](const auto& e) { return e.cause.rfind("wh-", 0) == 0; });
  CHECK(cause_is_webhook);
}

TEST_CASE("percentile memberships after batches of many customers equal the definition") {
  // In one batch, a customer evaluated early sees the boundary before the later customers'
  // spends moved it; the end state must still be the definition's, whatever the order.
  fixture f(R"toml(
[[segment]]
name = "high-value"
query = "amount_spent_percentile >= 80"
[[segment]]
name = "not-top"
query = "amount_spent_percentile < 50"
)toml");
  const auto now = at(2026, 6, 1);
  std::map<store::id_t, std::int64_t> spend;
  std::uint64_t seed = 12345;
  auto next = [&seed](std::uint64_t n) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return (seed >> 33) % n;
  };
  for (int round = 0; round < 40; ++round) {
    std::vector<std::pair<store::id_t, std::int64_t>> orders;
    const auto size = 1 + next(12);
    for (std::uint64_t i = 0; i < size; ++i) {
      const auto customer = static_cast<store::id_t>(1 + next(60));
      const auto cents = static_cast<std::int64_t>(100 + next(5000));
      orders.emplace_back(customer, cents);
      spend[customer] += cents;
    }
    f.batch(orders, now);
    const auto n = static_cast<std::int64_t>(spend.size());
    for (const auto& [customer, amount] : spend) {
      std::int64_t less = 0;
      for (const auto& other : spend) less += other.second < amount;
      std::vector<std::string> expected;
      if (100 * less >= 80 * n) expected.push_back("high-value");
      if (100 * less < 50 * n) expected.push_back("not-top");
      CAPTURE(round);
      CAPTURE(customer);
      CHECK(f.segments_of(customer) == expected);
    }
  }
}

TEST_CASE("segment config errors point into the file, inside multi-line queries") {
  auto bad = shopsegd::parse_config(
      "[webhook]\nsecrets = [\"s\"]\n[[segment]]\nname = \"a\"\nquery = \"\"\"\nnumber_of_orders > 1\n  OR amount_spnt > 5\n\"\"\"\n"
      "[[segment]]\nname = \"a\"\nquery = 'products_purchased(id: 1) = true'\n[[segment]]\nname = \"Bad Name\"\nquery = \"number_of_orders > 1\"\n",
      "shop.toml");
  REQUIRE_FALSE(bad.has_value());
  const auto& m = bad.error().messages;
  REQUIRE(m.size() == 4);
  CHECK(m[0].rfind("shop.toml:7:6: unknown attribute 'amount_spnt'", 0) == 0);
  CHECK(m[1] == "shop.toml:10:8: segment 'a' is defined twice");
  CHECK(m[2].rfind("shop.toml:11:10: 'products_purchased' is part of Shopify's segment language", 0) == 0);
  CHECK(m[3].rfind("shop.toml:13:8: [[segment]] name must be", 0) == 0);
}

TEST_CASE("a deleted customer leaves its segments in the change log") {
  fixture f(vip);
  const auto now = at(2026, 6, 1);
  f.order(7, 600'000, now, now);
  REQUIRE(f.segments_of(7) == std::vector<std::string>{"gold"});
  REQUIRE(f.w->begin().has_value());
  REQUIRE(f.w->delete_customer(shop, 7).has_value());
  std::vector<shopsegd::evaluation_request> requests;
  for (const auto& key : f.w->touched()) requests.push_back({key, "wh-delete"});
  REQUIRE(f.engine->evaluate(*f.w, requests, now).has_value());
  REQUIRE(f.w->commit().has_value());
  auto last = f.log().back();
  CHECK(last.segment == "gold");
  CHECK_FALSE(last.joined);
  CHECK(last.cause == "wh-delete");
  CHECK(f.segments_of(7).empty());
}

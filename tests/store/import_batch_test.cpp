// writer::import_batch against the per-record path it replaces: for random batches over a
// store that already holds orders, customers, tombstones and merges, both must leave every
// table identical (the wall-clock updated_at_ms aside) and give the same outcomes.

#include <cstdint>
#include <random>

#include "table_dump.hpp"
#include "temp_db.hpp"

namespace {

using store::id_t;
using store::outcome;

constexpr const char* shop = "import.myshopify.com";

// Every row of the tables an import or a webhook writes, as text, in key order.
std::string dump(const std::string& path) {
  return store_test::dump_rows(
      path,
      {
          "SELECT * FROM orders ORDER BY shop, order_id",
          "SELECT shop, customer_id, email, email_lower, phone, phone_key, first_name, last_name, "
          "state, "
          "created_at_ms, profile_version_ms, profile_from_customer_payload, tags, "
          "amount_spent_minor, "
          "number_of_orders, first_order_at_ms, last_order_at_ms, largest_order_minor, currency, "
          "segments, "
          "next_change_at_ms, profile_email, email_version, phone_version, first_name_version, "
          "last_name_version, state_version, created_at_version FROM customers ORDER BY shop, "
          "customer_id",
          "SELECT * FROM tag_events ORDER BY 1, 2, 3, 4, 5",
          "SELECT shop, order_id FROM order_tombstones ORDER BY 1, 2",
          "SELECT shop, customer_id, kind FROM customer_tombstones ORDER BY 1, 2",
          "SELECT * FROM customer_aliases ORDER BY 1, 2",
          "SELECT domain, currency FROM shops ORDER BY 1",
      });
}

// Random records over small id ranges, so that they collide with each other and with what the
// store holds: repeated and older versions, orders moving between customers, guests, nested
// profiles, tags, orders that do not count, ids above 2^63.
struct generator {
  std::mt19937_64 rng;
  std::int64_t span = 1;  // widens the id ranges: more distinct customers and orders per batch
  explicit generator(std::uint64_t seed, std::int64_t span = 1) : rng(seed), span(span) {}

  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  bool chance(int percent) { return pick(1, 100) <= percent; }
  id_t customer_id() {
    return chance(5) ? (id_t{1} << 63) + static_cast<id_t>(pick(0, 3))
                     : static_cast<id_t>(pick(1, 40 * span));
  }
  id_t order_id() {
    return chance(5) ? ~id_t{0} - static_cast<id_t>(pick(0, 3))
                     : static_cast<id_t>(pick(100, 100 + 120 * span));
  }

  store::profile_record profile(id_t id, bool with_tags) {
    store::profile_record p;
    p.customer_id = id;
    p.updated_at_ms = pick(0, 6) * 1000;
    if (chance(70))
      p.email = chance(20) ? "Mixed.Case" + std::to_string(pick(0, 3)) + "@Example.com"
                           : "c" + std::to_string(id) + "@example.com";
    if (chance(40)) p.phone = "+1 555 01" + std::to_string(pick(10, 99));
    if (chance(60)) p.first_name = "F" + std::to_string(pick(0, 9));
    if (chance(30)) p.state = "enabled";
    if (chance(30)) p.created_at_ms = pick(1, 9) * 100;
    if (with_tags && chance(70)) {
      std::vector<std::string> tags;
      for (int i = pick(0, 3); i > 0; --i)
        tags.push_back(chance(50) ? " VIP " : "t" + std::to_string(pick(0, 4)));
      p.tags = std::move(tags);
    }
    return p;
  }
  store::order_record order() {
    store::order_record o;
    o.order_id = order_id();
    if (chance(85)) o.customer_id = customer_id();
    o.name = "#" + std::to_string(o.order_id);
    o.updated_at_ms = pick(1, 8) * 1000;
    o.processed_at_ms = pick(1, 5) * 10'000;
    o.created_at_ms = o.processed_at_ms;
    o.net_amount_minor = pick(1, 50'000);
    o.currency = chance(90) ? "USD" : "CAD";
    o.test = chance(5);
    if (chance(5)) o.cancelled_at_ms = pick(1, 9);
    o.financial_status = chance(5) ? "voided" : "paid";
    o.email = chance(30) ? "" : "o" + std::to_string(pick(0, 5)) + "@example.com";
    return o;
  }
  store::import_item item() {
    store::import_item item;
    if (chance(30)) {
      item.profile = profile(customer_id(), true);
      return item;
    }
    item.order = order();
    if (item.order->customer_id && chance(30))
      item.profile = profile(*item.order->customer_id, false);
    return item;
  }
};

// What the store held before the import: webhook-path changes, the same in both stores.
void seed_store(store::writer& w, generator& g) {
  REQUIRE(w.begin());
  for (int i = 0; i < 25; ++i) {
    const int what = static_cast<int>(g.pick(0, 9));
    if (what < 5) {
      auto item = g.item();
      if (item.order)
        REQUIRE(w.upsert_order(shop, *item.order, item.profile ? &*item.profile : nullptr));
      else
        REQUIRE(w.upsert_customer(shop, *item.profile, store::profile_source::customer_payload));
    } else if (what == 5) {
      REQUIRE(w.delete_order(shop, g.order_id()));
    } else if (what == 6) {
      REQUIRE(w.delete_customer(shop, g.customer_id()));
    } else if (what == 7) {
      REQUIRE(w.merge_customers(shop, g.customer_id(), g.customer_id()));
    } else {
      REQUIRE(w.change_tags(shop, g.customer_id(), g.chance(50), {"t1"}, g.pick(0, 6) * 1000));
    }
  }
  REQUIRE(w.refresh_aggregates());
  REQUIRE(w.commit());
}

std::vector<outcome> per_record(store::writer& w, const std::vector<store::import_item>& items) {
  std::vector<outcome> outcomes;
  for (const auto& item : items) {
    if (item.order) {
      if (!item.order->currency.empty()) REQUIRE(w.ensure_shop(shop, item.order->currency));
      outcomes.push_back(
          w.upsert_order(shop, *item.order, item.profile ? &*item.profile : nullptr).value());
    } else {
      outcomes.push_back(
          w.upsert_customer(shop, *item.profile, store::profile_source::customer_payload).value());
    }
  }
  REQUIRE(w.refresh_aggregates());
  return outcomes;
}

std::vector<outcome> batched(store::writer& w, const std::vector<store::import_item>& items) {
  for (const auto& item : items)
    if (item.order && !item.order->currency.empty())
      REQUIRE(w.ensure_shop(shop, item.order->currency));
  auto outcomes = w.import_batch(shop, items);
  REQUIRE(outcomes.has_value());
  return *outcomes;
}

}  // namespace

TEST_CASE("an import batch leaves the store exactly as the per-record path does") {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    store_test::temp_db a, b;
    auto wa = a.open_writer();
    auto wb = b.open_writer();
    generator ga(seed), gb(seed);
    if (seed % 4 != 0) {  // every fourth run imports into an empty store
      seed_store(*wa, ga);
      seed_store(*wb, gb);
    }
    generator g(seed * 7919);
    for (int batch = 0; batch < 4; ++batch) {
      std::vector<store::import_item> items;
      for (int i = static_cast<int>(g.pick(1, 120)); i > 0; --i) items.push_back(g.item());
      REQUIRE(wa->begin());
      const auto expected = per_record(*wa, items);
      const auto expected_touched = wa->touched();
      REQUIRE(wa->commit());
      REQUIRE(wb->begin());
      const auto got = batched(*wb, items);
      auto touched = wb->touched();
      REQUIRE(wb->commit());
      CHECK(got == expected);
      auto sorted = expected_touched;
      std::sort(sorted.begin(), sorted.end());
      std::sort(touched.begin(), touched.end());
      CHECK(touched == sorted);
      REQUIRE(dump(a.path) == dump(b.path));
    }
  }
}

TEST_CASE("a large import batch (multi-row inserts) leaves the store as the per-record path does") {
  // Hundreds of new orders and tag sets per batch: full multi-row statements and a remainder.
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    store_test::temp_db a, b;
    auto wa = a.open_writer();
    auto wb = b.open_writer();
    generator ga(seed), gb(seed);
    if (seed % 2 == 0) {
      seed_store(*wa, ga);
      seed_store(*wb, gb);
    }
    generator g(seed * 104729, 30);
    for (int batch = 0; batch < 2; ++batch) {
      std::vector<store::import_item> items;
      for (int i = static_cast<int>(g.pick(900, 1500)); i > 0; --i) items.push_back(g.item());
      REQUIRE(wa->begin());
      const auto expected = per_record(*wa, items);
      REQUIRE(wa->commit());
      REQUIRE(wb->begin());
      const auto got = batched(*wb, items);
      REQUIRE(wb->commit());
      CHECK(got == expected);
      REQUIRE(dump(a.path) == dump(b.path));
    }
  }
}

TEST_CASE("an import batch into an empty store builds every row once, segments included") {
  store_test::temp_db db;
  auto w = db.open_writer();
  std::vector<store::import_item> items;
  store::import_item c;
  c.profile = store::profile_record{};
  c.profile->customer_id = 9;
  c.profile->updated_at_ms = 50;
  c.profile->email = "Nine@Example.com";
  c.profile->tags = std::vector<std::string>{"b", "A"};
  items.push_back(c);
  for (store::id_t id : {3, 1, 2}) {
    store::import_item o;
    o.order = store::order_record{};
    o.order->order_id = id;
    o.order->customer_id = 9;
    o.order->updated_at_ms = 10;
    o.order->processed_at_ms = static_cast<std::int64_t>(id) * 100;
    o.order->net_amount_minor = 1000 * static_cast<std::int64_t>(id);
    o.order->currency = "USD";
    o.order->financial_status = "paid";
    items.push_back(o);
  }
  REQUIRE(w->begin());
  auto outcomes = w->import_batch(shop, items);
  REQUIRE(outcomes.has_value());
  CHECK(*outcomes == std::vector<outcome>(4, outcome::applied));
  REQUIRE(w->touched().size() == 1);
  // The segment evaluation reads the customer from memory and writes the row whole.
  auto view = w->customer(shop, 9).value();
  REQUIRE(view.has_value());
  CHECK(view->totals.number_of_orders == 3);
  CHECK(view->totals.amount_spent_minor == 6000);
  CHECK(view->tags == std::vector<std::string>{"a", "b"});
  CHECK(w->ledger(shop, 9).value().size() == 3);
  REQUIRE(w->record_segments(shop, 9, {"repeat"}, {"repeat"}, {}, 12345, "import", 1));
  REQUIRE(w->commit());
  auto r = db.open_reader();
  auto stored = r->customer(shop, 9).value();
  REQUIRE(stored.has_value());
  CHECK(stored->segments == std::vector<std::string>{"repeat"});
  CHECK(stored->next_change_at_ms == 12345);
  CHECK(stored->totals.largest_order_minor == 3000);
  CHECK(stored->email == "Nine@Example.com");
  CHECK(r->customers_by_email(shop, "nine@example.com").value().size() == 1);
}

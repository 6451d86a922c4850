// Writer semantics against a real database file: dedup, versions, tombstones, aggregates, tags,
// merges, erasure and retention, read back through a reader.
#include <cstdint>
#include <limits>

#include "temp_db.hpp"

namespace {

using store::id_t;
using store::outcome;

constexpr const char* shop = "example.myshopify.com";

store::order_record order(id_t order_id, std::optional<id_t> customer_id, std::int64_t updated_at,
                          std::int64_t amount, std::int64_t processed_at = 5'000) {
  store::order_record o;
  o.order_id = order_id;
  o.customer_id = customer_id;
  o.name = "#" + std::to_string(order_id);
  o.updated_at_ms = updated_at;
  o.created_at_ms = processed_at;
  o.processed_at_ms = processed_at;
  o.net_amount_minor = amount;
  o.currency = "USD";
  o.financial_status = "paid";
  o.email = "buyer@example.com";
  return o;
}

store::profile_record profile(id_t customer_id, std::int64_t updated_at, std::string email) {
  store::profile_record p;
  p.customer_id = customer_id;
  p.updated_at_ms = updated_at;
  p.email = std::move(email);
  return p;
}

// A writer and a reader on one temp database; `apply` runs one transaction and refreshes.
struct fixture {
  store_test::temp_db db;
  std::unique_ptr<store::writer> w = db.open_writer();
  std::unique_ptr<store::reader> r = db.open_reader();

  template <class F>
  auto apply(F&& change) {
    REQUIRE(w->begin());
    auto result = change(*w);
    REQUIRE(w->refresh_aggregates());
    REQUIRE(w->commit());
    return result;
  }
  outcome upsert(const store::order_record& o, const store::profile_record* nested = nullptr) {
    return apply([&](store::writer& wr) { return wr.upsert_order(shop, o, nested).value(); });
  }
  store::customer_view customer(id_t id) {
    auto found = r->customer(shop, id).value();
    REQUIRE(found.has_value());
    return *found;
  }
  bool customer_exists(id_t id) { return r->customer(shop, id).value().has_value(); }
};

}  // namespace

TEST_CASE("a delivery is claimed once per shop and webhook id") {
  fixture f;
  CHECK(f.apply([](store::writer& w) { return w.claim_delivery(shop, "w1", "orders/create", 10).value(); }));
  CHECK_FALSE(f.apply([](store::writer& w) { return w.claim_delivery(shop, "w1", "orders/create", 20).value(); }));
  CHECK(f.apply([](store::writer& w) { return w.claim_delivery("other.myshopify.com", "w1", "orders/create", 30).value(); }));
  CHECK(f.r->delivery_seen(shop, "w1").value());
  CHECK_FALSE(f.r->delivery_seen(shop, "w2").value());
  CHECK(f.r->last_event_at(shop).value() == 10);
  CHECK_FALSE(f.r->last_event_at("nobody.myshopify.com").value().has_value());
}

TEST_CASE("order versions: older and equal change nothing, newer replaces") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 2000, 1000)) == outcome::applied);
  CHECK(f.upsert(order(1, 7, 1000, 5000)) == outcome::stale);
  CHECK(f.upsert(order(1, 7, 2000, 5000)) == outcome::stale);
  CHECK(f.customer(7).totals.amount_spent_minor == 1000);
  CHECK(f.upsert(order(1, 7, 3000, 2500)) == outcome::applied);
  const auto c = f.customer(7);
  CHECK(c.totals.amount_spent_minor == 2500);
  CHECK(c.totals.number_of_orders == 1);
  CHECK(c.updated_at_ms > 0);
  CHECK(f.r->order(shop, 1).value()->order.updated_at_ms == 3000);
}

TEST_CASE("a deleted order stays deleted when a late create arrives") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 1000)) == outcome::applied);
  CHECK(f.apply([](store::writer& w) { return w.delete_order(shop, 1).value(); }) == outcome::applied);
  CHECK_FALSE(f.r->order(shop, 1).value().has_value());
  CHECK(f.customer(7).totals.number_of_orders == 0);
  CHECK(f.upsert(order(1, 7, 9000, 1000)) == outcome::tombstoned);
  // An order deleted before it was ever seen: the late create changes nothing either.
  CHECK(f.apply([](store::writer& w) { return w.delete_order(shop, 2).value(); }) == outcome::applied);
  CHECK(f.upsert(order(2, 7, 1000, 1000)) == outcome::tombstoned);
  CHECK(f.apply([](store::writer& w) { return w.delete_order(shop, 2).value(); }) == outcome::tombstoned);
  CHECK(f.customer(7).totals.amount_spent_minor == 0);
}

TEST_CASE("guest orders are kept and counted for no customer") {
  fixture f;
  CHECK(f.upsert(order(1, std::nullopt, 1000, 1000)) == outcome::applied);
  const auto o = f.r->order(shop, 1).value();
  REQUIRE(o.has_value());
  CHECK_FALSE(o->order.customer_id.has_value());
  CHECK(o->counts);
  CHECK(f.w->touched().empty());
}

TEST_CASE("test, cancelled and voided orders do not count") {
  fixture f;
  auto test = order(1, 7, 1000, 100);
  test.test = true;
  auto cancelled = order(2, 7, 1000, 200);
  cancelled.cancelled_at_ms = 900;
  auto voided = order(3, 7, 1000, 400);
  voided.financial_status = "voided";
  auto pending = order(4, 7, 1000, 800, 7'000);
  pending.financial_status = "pending";
  for (const auto& o : {test, cancelled, voided, pending}) CHECK(f.upsert(o) == outcome::applied);
  const auto c = f.customer(7);
  CHECK(c.totals.amount_spent_minor == 800);
  CHECK(c.totals.number_of_orders == 1);
  CHECK(c.totals.first_order_at_ms == 7'000);
  CHECK(c.totals.currency == "USD");
  const auto ledger = f.r->ledger(shop, 7).value();
  REQUIRE(ledger.size() == 1);
  CHECK(ledger[0].order_id == 4);
  CHECK_FALSE(f.r->order(shop, 2).value()->counts);
  // Cancelling a counting order removes it from the aggregates.
  auto later = pending;
  later.updated_at_ms = 2000;
  later.cancelled_at_ms = 1500;
  CHECK(f.upsert(later) == outcome::applied);
  CHECK(f.customer(7).totals.number_of_orders == 0);
  CHECK_FALSE(f.customer(7).totals.last_order_at_ms.has_value());
}

TEST_CASE("refunds are recorded once against their order") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 1000)) == outcome::applied);
  CHECK(f.apply([](store::writer& w) { return w.record_refund(shop, 50, 1, 2000, 300).value(); }) == outcome::applied);
  CHECK(f.apply([](store::writer& w) { return w.record_refund(shop, 50, 1, 2000, 300).value(); }) == outcome::stale);
  CHECK(f.apply([](store::writer& w) { return w.record_refund(shop, 51, 1, 2100, 200).value(); }) == outcome::applied);
  CHECK(f.r->order(shop, 1).value()->refunded_minor == 500);
  // Amounts change only through the order's own versions.
  CHECK(f.customer(7).totals.amount_spent_minor == 1000);
}

TEST_CASE("aggregates are exact with large int64 amounts") {
  fixture f;
  const std::int64_t big = (std::int64_t{1} << 53) + 1;  // not representable as a double
  CHECK(f.upsert(order(1, 7, 1000, big, 1'000)) == outcome::applied);
  CHECK(f.upsert(order(2, 7, 1000, big + 2, 3'000)) == outcome::applied);
  CHECK(f.upsert(order(3, 7, 1000, 5, 2'000)) == outcome::applied);
  const auto c = f.customer(7);
  CHECK(c.totals.amount_spent_minor == 2 * big + 7);
  CHECK(c.totals.largest_order_minor == big + 2);
  CHECK(c.totals.number_of_orders == 3);
  CHECK(c.totals.first_order_at_ms == 1'000);
  CHECK(c.totals.last_order_at_ms == 3'000);
  const auto ledger = f.r->ledger(shop, 7).value();
  REQUIRE(ledger.size() == 3);
  CHECK(ledger[1].order_id == 3);
  const store::id_t huge_id = (store::id_t{1} << 62) + 12345;
  CHECK(f.upsert(order(huge_id, huge_id, 1000, 1)) == outcome::applied);
  CHECK(f.customer(huge_id).customer_id == huge_id);
}

TEST_CASE("moving an order to another customer touches and recomputes both") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 1000)) == outcome::applied);
  REQUIRE(f.w->begin());
  CHECK(f.w->upsert_order(shop, order(1, 8, 2000, 1000), nullptr).value() == outcome::applied);
  CHECK(f.w->touched().size() == 2);
  REQUIRE(f.w->refresh_aggregates());
  REQUIRE(f.w->commit());
  CHECK(f.customer(7).totals.number_of_orders == 0);
  CHECK(f.customer(8).totals.number_of_orders == 1);
}

TEST_CASE("a nested order customer never overrides a customer payload of the same or newer version") {
  fixture f;
  auto nested = profile(7, 1000, "Order@Example.com");
  nested.first_name = "From order";
  nested.tags = std::vector<std::string>{"ignored"};
  CHECK(f.upsert(order(1, 7, 1000, 100), &nested) == outcome::applied);
  auto c = f.customer(7);
  CHECK(c.first_name == "From order");
  CHECK(c.tags.empty());
  CHECK(c.email == "buyer@example.com");  // known only from orders: its newest order's email
  // The nested customer's email is held all the same, and exported.
  CHECK(f.r->export_customer(shop, 7).value()->profile_email == "Order@Example.com");

  auto payload = profile(7, 1000, "Real@Example.com");
  payload.first_name = "Real";
  CHECK(f.apply([&](store::writer& w) {
    return w.upsert_customer(shop, payload, store::profile_source::customer_payload).value();
  }) == outcome::applied);
  auto later_nested = profile(7, 1000, "other@example.com");
  later_nested.first_name = "Later order";
  CHECK(f.upsert(order(2, 7, 1000, 100), &later_nested) == outcome::applied);
  c = f.customer(7);
  CHECK(c.first_name == "Real");
  CHECK(c.email == "Real@Example.com");
  CHECK_FALSE(f.r->export_customer(shop, 7).value()->profile_email.has_value());
  CHECK(f.r->customers_by_email(shop, "REAL@example.COM").value().size() == 1);

  auto stale_payload = profile(7, 500, "old@example.com");
  CHECK(f.apply([&](store::writer& w) {
    return w.upsert_customer(shop, stale_payload, store::profile_source::customer_payload).value();
  }) == outcome::stale);
  auto newer_payload = profile(7, 2000, "new@example.com");
  CHECK(f.apply([&](store::writer& w) {
    return w.upsert_customer(shop, newer_payload, store::profile_source::customer_payload).value();
  }) == outcome::applied);
  c = f.customer(7);
  CHECK(c.email == "new@example.com");
  CHECK(c.first_name == "Real");  // not said: kept
}

TEST_CASE("tags fold full sets and changes in time order, whatever the arrival order") {
  fixture f;
  auto with_tags = [](std::int64_t at, std::vector<std::string> tags) {
    auto p = profile(7, at, "t@example.com");
    p.tags = std::move(tags);
    return p;
  };
  auto set = [&](std::int64_t at, std::vector<std::string> tags) {
    const auto p = with_tags(at, std::move(tags));
    return f.apply([&](store::writer& w) {
      return w.upsert_customer(shop, p, store::profile_source::customer_payload).value();
    });
  };
  auto change = [&](bool added, std::vector<std::string> tags, std::int64_t at) {
    return f.apply([&](store::writer& w) { return w.change_tags(shop, 7, added, tags, at).value(); });
  };
  CHECK(change(false, {"VIP"}, 3000) == outcome::applied);   // remove at t3
  CHECK(set(2000, {"Wholesale", " vip ", "vip"}) == outcome::applied);  // set at t2
  CHECK(change(true, {"early"}, 1000) == outcome::applied);  // add at t1: before the set
  CHECK(change(true, {"Late"}, 4000) == outcome::applied);   // add at t4
  CHECK(f.customer(7).tags == std::vector<std::string>{"late", "wholesale"});
  CHECK(change(true, {"Late"}, 4000) == outcome::stale);  // duplicate
  CHECK(set(1500, {"old"}) == outcome::applied);           // older set: profile stale, fold unchanged
  CHECK(f.customer(7).tags == std::vector<std::string>{"late", "wholesale"});
  CHECK(set(5000, {"Fresh"}) == outcome::applied);
  CHECK(f.customer(7).tags == std::vector<std::string>{"fresh"});
}

TEST_CASE("merging moves orders, aliases the deleted id and tombstones it") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 100)) == outcome::applied);
  CHECK(f.upsert(order(2, 8, 1000, 200)) == outcome::applied);
  REQUIRE(f.w->begin());
  CHECK(f.w->merge_customers(shop, 7, 8).value() == outcome::applied);
  CHECK(f.w->touched().size() == 2);
  REQUIRE(f.w->refresh_aggregates());
  REQUIRE(f.w->commit());
  CHECK(f.customer(7).totals.amount_spent_minor == 300);
  CHECK(f.customer(8).customer_id == 7);  // follows the alias
  CHECK(f.r->ledger(shop, 8).value().size() == 2);
  // Later deliveries for the deleted id apply to the kept one.
  CHECK(f.upsert(order(3, 8, 1000, 400)) == outcome::applied);
  CHECK(f.r->order(shop, 3).value()->order.customer_id == 7);
  CHECK(f.customer(7).totals.amount_spent_minor == 700);
  CHECK(f.apply([](store::writer& w) { return w.merge_customers(shop, 7, 8).value(); }) == outcome::stale);
}

TEST_CASE("a deleted customer loses profile and orders and does not come back") {
  fixture f;
  auto nested = profile(7, 1000, "gone@example.com");
  CHECK(f.upsert(order(1, 7, 1000, 100), &nested) == outcome::applied);
  CHECK(f.apply([](store::writer& w) { return w.delete_customer(shop, 7).value(); }) == outcome::applied);
  CHECK_FALSE(f.customer_exists(7));
  CHECK_FALSE(f.r->order(shop, 1).value().has_value());
  CHECK(f.upsert(order(1, 7, 5000, 100)) == outcome::tombstoned);
  // A new order naming the deleted customer is kept as a guest order.
  CHECK(f.upsert(order(2, 7, 5000, 100), &nested) == outcome::applied);
  CHECK_FALSE(f.r->order(shop, 2).value()->order.customer_id.has_value());
  CHECK_FALSE(f.customer_exists(7));
  CHECK(f.apply([&](store::writer& w) {
    return w.upsert_customer(shop, profile(7, 9000, "x@example.com"),
                             store::profile_source::customer_payload).value();
  }) == outcome::tombstoned);
  CHECK(f.apply([](store::writer& w) { return w.delete_customer(shop, 7).value(); }) == outcome::tombstoned);
}

TEST_CASE("purchasing summary keeps the newest") {
  fixture f;
  CHECK(f.apply([](store::writer& w) { return w.record_purchasing_summary(shop, 7, 900, "USD", 3, 2000).value(); }) == outcome::applied);
  CHECK(f.apply([](store::writer& w) { return w.record_purchasing_summary(shop, 7, 100, "USD", 1, 1000).value(); }) == outcome::stale);
  const auto c = f.customer(7);
  CHECK(c.shopify_amount_spent_minor == 900);
  CHECK(c.shopify_number_of_orders == 3);
  CHECK(c.shopify_currency == "USD");
}

TEST_CASE("a redacted customer leaves no trace of its email in the database files") {
  fixture f;
  const std::string secret = "Secret.Person@Example.org";
  auto nested = profile(7, 1000, secret);
  nested.phone = "+15550001234";
  auto o = order(1, 7, 1000, 100);
  o.email = secret;
  CHECK(f.upsert(o, &nested) == outcome::applied);
  auto guest_copy = order(2, std::nullopt, 1000, 100);  // redacted by listing it
  guest_copy.email = secret;
  CHECK(f.upsert(guest_copy) == outcome::applied);
  f.apply([&](store::writer& w) {
    REQUIRE(w.claim_delivery(shop, "w-raw", "orders/create", 10));
    REQUIRE(w.keep_raw_body(shop, "w-raw", R"({"email":")" + secret + R"("})"));
    REQUIRE(w.keep_raw_body(shop, "w-other", R"({"email":"someone@else.org"})"));
    REQUIRE(w.quarantine(shop, "w-q", "orders/create", "2025-01", 10, "bad json",
                         R"({"customer":{"id":7, "email":")" + secret));
    REQUIRE(w.record_data_request(shop, 7, "w-dr", 10));
    return 0;
  });
  CHECK(f.db.all_bytes().find(secret) != std::string::npos);
  CHECK(f.apply([](store::writer& w) {
    return w.redact_customer(shop, 7, {2}, 20'000).value();
  }) == outcome::applied);
  REQUIRE(f.w->checkpoint_truncate());
  CHECK_FALSE(f.customer_exists(7));
  CHECK_FALSE(f.r->order(shop, 1).value().has_value());
  CHECK_FALSE(f.r->order(shop, 2).value().has_value());
  CHECK(f.r->quarantined(0, 10).value().empty());
  const std::string bytes = f.db.all_bytes();
  CHECK(bytes.find(secret) == std::string::npos);
  CHECK(bytes.find("secret.person@example.org") == std::string::npos);
  CHECK(bytes.find("+15550001234") == std::string::npos);
  CHECK(bytes.find("someone@else.org") != std::string::npos);
  CHECK(f.upsert(order(3, 7, 1000, 100), &nested) == outcome::applied);
  CHECK_FALSE(f.customer_exists(7));
}

TEST_CASE("shop redact erases every row of the shop and only that shop") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 100)) == outcome::applied);
  f.apply([](store::writer& w) {
    REQUIRE(w.claim_delivery(shop, "w1", "orders/create", 10));
    REQUIRE(w.claim_delivery("other.myshopify.com", "w1", "orders/create", 10));
    return 0;
  });
  CHECK(f.apply([](store::writer& w) { return w.redact_shop(shop, 50).value(); }) == outcome::applied);
  CHECK_FALSE(f.customer_exists(7));
  CHECK_FALSE(f.r->order(shop, 1).value().has_value());
  CHECK_FALSE(f.r->delivery_seen(shop, "w1").value());
  CHECK_FALSE(f.r->last_event_at(shop).value().has_value());
  CHECK(f.r->delivery_seen("other.myshopify.com", "w1").value());
}

TEST_CASE("change-log entries logged earlier in the transaction are erased and pruned too") {
  // Entries are queued and inserted many to a statement: the erasures and the pruning must
  // still see those of their own transaction.
  fixture f;
  constexpr std::int64_t day = 86'400'000;
  CHECK(f.upsert(order(1, 7, 1000, 100)) == outcome::applied);
  CHECK(f.upsert(order(2, 8, 1000, 100)) == outcome::applied);
  f.apply([](store::writer& w) {
    REQUIRE(w.record_segments(shop, 7, {"gold"}, {"gold"}, {}, std::nullopt, "import", 5000));
    REQUIRE(w.record_segments(shop, 8, {"gold"}, {"gold"}, {}, std::nullopt, "import", 5000));
    CHECK(w.redact_customer(shop, 7, {}, 6000).value() == outcome::applied);
    return 0;
  });
  auto log = f.r->changes(0, 100).value();
  REQUIRE(log.size() == 1);
  CHECK(log[0].customer_id == 8);
  f.apply([](store::writer& w) {
    REQUIRE(w.record_segments(shop, 8, {}, {}, {"gold"}, std::nullopt, "import", 7000));
    CHECK(w.redact_shop(shop, 8000).value() == outcome::applied);
    return 0;
  });
  CHECK(f.r->changes(0, 100).value().empty());
  CHECK(f.upsert(order(3, 9, 1000, 100)) == outcome::applied);
  const auto removed = f.apply([&](store::writer& w) {
    REQUIRE(w.record_segments(shop, 9, {"gold"}, {"gold"}, {}, std::nullopt, "import", day));
    return w.prune(40 * day, {}).value();
  });
  CHECK(removed == 1);
  CHECK(f.r->changes(0, 100).value().empty());
}

TEST_CASE("prune removes dedup keys and raw bodies past retention") {
  fixture f;
  constexpr std::int64_t day = 86'400'000;
  const std::int64_t now = 100 * day;
  f.apply([&](store::writer& w) {
    REQUIRE(w.claim_delivery(shop, "old", "orders/create", now - 8 * day));
    REQUIRE(w.claim_delivery(shop, "new", "orders/create", now - day));
    REQUIRE(w.keep_raw_body(shop, "new", "{}"));
    return 0;
  });
  const auto removed = f.apply([&](store::writer& w) { return w.prune(now, {}).value(); });
  CHECK(removed == 2);
  CHECK_FALSE(f.r->delivery_seen(shop, "old").value());
  CHECK(f.r->delivery_seen(shop, "new").value());
}

TEST_CASE("quarantine keeps the body and releases the claim") {
  fixture f;
  const auto id = f.apply([](store::writer& w) {
    REQUIRE(w.claim_delivery(shop, "w1", "orders/create", 10).value());
    return w.quarantine(shop, "w1", "orders/create", "2025-01", 10, "missing id", "{}").value();
  });
  CHECK_FALSE(f.r->delivery_seen(shop, "w1").value());
  const auto entries = f.r->quarantined(0, 10).value();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].id == id);
  CHECK(entries[0].reason == "missing id");
  CHECK(entries[0].api_version == "2025-01");
  CHECK(f.r->quarantined(id, 10).value().empty());
  CHECK(f.apply([](store::writer& w) { return w.claim_delivery(shop, "w1", "orders/create", 20).value(); }));
}

TEST_CASE("uninstall marks the shop inactive; a rollback leaves nothing") {
  fixture f;
  CHECK(f.apply([](store::writer& w) { return w.mark_uninstalled(shop, 10).value(); }) == outcome::applied);
  REQUIRE(f.w->begin());
  REQUIRE(f.w->claim_delivery(shop, "w9", "orders/create", 10).value());
  f.w->rollback();
  CHECK_FALSE(f.r->delivery_seen(shop, "w9").value());
  CHECK(f.w->touched().empty());
}

TEST_CASE("memberships change with a change-log entry each; next change times are indexed") {
  fixture f;
  CHECK(f.upsert(order(1, 7, 1000, 100)) == outcome::applied);
  REQUIRE(f.w->begin());
  CHECK(f.w->memberships(shop, 7).value().empty());
  REQUIRE(f.w->record_segments(shop, 7, {"gold", "repeat"}, {"gold", "repeat"}, {}, std::nullopt, "wh-1", 5000));
  CHECK(f.w->memberships(shop, 7).value() == std::vector<std::string>{"gold", "repeat"});
  REQUIRE(f.w->record_segments(shop, 7, {"platinum", "repeat"}, {"platinum"}, {"gold"}, 9000, "clock", 6000));
  REQUIRE(f.w->commit());
  CHECK(f.r->memberships(shop, 7).value() == std::vector<std::string>{"platinum", "repeat"});
  auto log = f.r->changes(0, 100).value();
  REQUIRE(log.size() == 4);
  CHECK(log[0].segment == "gold");
  CHECK(log[0].joined);
  CHECK(log[0].cause == "wh-1");
  CHECK(log[2].segment == "gold");
  CHECK_FALSE(log[2].joined);
  CHECK(log[3].segment == "platinum");
  CHECK(log[3].cause == "clock");
  CHECK(log[3].seq > log[2].seq);
  CHECK(f.r->changes(log[1].seq, 100).value().size() == 2);
  CHECK(f.r->last_change_seq().value() == log[3].seq);
  REQUIRE(f.w->begin());
  CHECK(f.w->due_customers(8999, 10).value().empty());
  CHECK(f.w->due_customers(9000, 10).value() == std::vector<store::customer_key>{{shop, 7}});
  CHECK(f.w->earliest_next_change().value() == 9000);
  CHECK(f.w->buyers().value().size() == 1);
  REQUIRE(f.w->commit());
}

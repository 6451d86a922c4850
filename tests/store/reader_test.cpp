// Reader operations of the query API: phone keys and lookup, the members walk with its bound,
// drift from Shopify's purchasing summary, and a customer's export.
#include "store/phone.hpp"
#include "temp_db.hpp"

namespace {

constexpr const char* shop = "reads.myshopify.com";

store::profile_record profile(store::id_t id, std::optional<std::string> phone) {
  store::profile_record p;
  p.customer_id = id;
  p.updated_at_ms = 10;
  p.email = "c" + std::to_string(id) + "@example.com";
  p.phone = std::move(phone);
  return p;
}

}  // namespace

TEST_CASE("phone keys keep the digits and a leading plus") {
  CHECK(store::phone_key("+16135550142") == "+16135550142");
  CHECK(store::phone_key(" +1 (613) 555-0142") == "+16135550142");
  CHECK(store::phone_key("613.555.0142") == "6135550142");
  CHECK(store::phone_key("(613) +555") == "613555");  // a '+' counts only in front
  CHECK_FALSE(store::phone_key("").has_value());
  CHECK_FALSE(store::phone_key("+").has_value());
  CHECK_FALSE(store::phone_key("n/a").has_value());
}

TEST_CASE("lookup by phone matches whatever the punctuation, with or without the plus") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  REQUIRE(w->upsert_customer(shop, profile(1, "+16135550142"), store::profile_source::customer_payload));
  REQUIRE(w->upsert_customer(shop, profile(2, "+44 20 7946 0000"), store::profile_source::customer_payload));
  REQUIRE(w->upsert_customer(shop, profile(3, std::nullopt), store::profile_source::customer_payload));
  REQUIRE(w->commit());
  auto r = db.open_reader();
  for (const char* typed : {"+1 613 555 0142", "16135550142", "+1-613-555-0142"}) {
    auto found = r->customers_by_phone(shop, typed).value();
    REQUIRE(found.size() == 1);
    CHECK(found[0].customer_id == 1);
  }
  CHECK(r->customers_by_phone(shop, "6135550142").value().empty());  // no country code: no guess
  CHECK(r->customers_by_phone(shop, "none").value().empty());
  CHECK(r->customers_by_phone("other.myshopify.com", "+16135550142").value().empty());
  // A changed phone moves the key.
  REQUIRE(w->begin());
  auto moved = profile(1, "+1 613 555 0199");
  moved.updated_at_ms = 20;
  REQUIRE(w->upsert_customer(shop, moved, store::profile_source::customer_payload));
  REQUIRE(w->commit());
  CHECK(r->customers_by_phone(shop, "+16135550142").value().empty());
  CHECK(r->customers_by_phone(shop, "+16135550199").value().size() == 1);
}

TEST_CASE("a lookup by email or phone reads the shop's last event time with the customers") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  REQUIRE(w->upsert_customer(shop, profile(1, "+16135550142"),
                             store::profile_source::customer_payload));
  auto twin = profile(2, "+1 613 555 0142");
  twin.email = "C1@Example.com";  // the same address, another customer
  REQUIRE(w->upsert_customer(shop, twin, store::profile_source::customer_payload));
  REQUIRE(w->claim_delivery(shop, "w1", "customers/update", 1000).value());
  REQUIRE(w->commit());
  auto r = db.open_reader();
  auto by_email = r->lookup_by_email(shop, "c1@EXAMPLE.com").value();
  REQUIRE(by_email.customers.size() == 2);
  CHECK(by_email.customers[0].customer_id == 1);
  CHECK(by_email.customers[1].customer_id == 2);
  CHECK(by_email.last_event_at_ms == 1000);
  auto by_phone = r->lookup_by_phone(shop, "16135550142").value();
  CHECK(by_phone.customers.size() == 2);
  CHECK(by_phone.last_event_at_ms == 1000);
  // A later delivery moves it; nothing found carries none.
  REQUIRE(w->begin());
  REQUIRE(w->claim_delivery(shop, "w2", "customers/update", 2000).value());
  REQUIRE(w->commit());
  CHECK(r->lookup_by_email(shop, "c1@example.com").value().last_event_at_ms == 2000);
  auto none = r->lookup_by_email(shop, "nobody@example.com").value();
  CHECK(none.customers.empty());
  CHECK_FALSE(none.last_event_at_ms.has_value());
  CHECK(r->lookup_by_phone(shop, "n/a").value().customers.empty());
}

TEST_CASE("the members walk returns every member once across pages and bounds the rows it reads") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  for (store::id_t id = 1; id <= 30; ++id) {
    REQUIRE(w->upsert_customer(shop, profile(id, std::nullopt), store::profile_source::customer_payload));
    std::vector<std::string> in = id % 3 == 0 ? std::vector<std::string>{"gold", "repeat"} : std::vector<std::string>{"repeat"};
    REQUIRE(w->record_segments(shop, id, in, in, {}, std::nullopt, "test", 1));
  }
  REQUIRE(w->commit());
  auto r = db.open_reader();
  std::vector<store::id_t> seen;
  std::optional<store::customer_key> after;
  int pages = 0;
  for (;; ++pages) {
    auto page = r->segment_members("gold", std::string(shop), after, 4, 7).value();
    CHECK(page.scanned <= 7);
    CHECK(page.members.size() <= 4);
    for (const auto& m : page.members) seen.push_back(m.customer_id);
    if (!page.next) break;
    after = page.next;
  }
  std::vector<store::id_t> expected;
  for (store::id_t id = 3; id <= 30; id += 3) expected.push_back(id);
  CHECK(seen == expected);
  CHECK(pages >= 4);  // 30 rows, at most 7 per page
  // A bounded page of a rare segment still gives a cursor.
  auto none = r->segment_members("platinum", std::nullopt, std::nullopt, 100, 10).value();
  CHECK(none.members.empty());
  REQUIRE(none.next.has_value());
  CHECK(none.next->customer_id == 10);
  // Without a shop the walk crosses shops in key order.
  auto all = r->segment_members("repeat", std::nullopt, std::nullopt, 1000, 1000).value();
  CHECK(all.members.size() == 30);
  CHECK_FALSE(all.next.has_value());
}

TEST_CASE("drift lists the customers whose aggregates disagree with Shopify's summary") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  REQUIRE(w->upsert_customer(shop, profile(1, std::nullopt), store::profile_source::customer_payload));
  REQUIRE(w->upsert_customer(shop, profile(2, std::nullopt), store::profile_source::customer_payload));
  REQUIRE(w->record_purchasing_summary(shop, 1, 5000, "USD", 2, 100));  // we know no orders: drift
  REQUIRE(w->record_purchasing_summary(shop, 2, 0, "USD", 0, 100));     // agrees
  REQUIRE(w->refresh_aggregates());
  REQUIRE(w->commit());
  auto r = db.open_reader();
  CHECK(r->drift_count().value() == 1);
  auto drift = r->drift(10).value();
  REQUIRE(drift.size() == 1);
  CHECK(drift[0].customer_id == 1);
  CHECK(drift[0].shopify_amount_spent_minor == 5000);
}

TEST_CASE("an export holds the customer's orders, refunds, tag history and raw bodies that name it") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  auto p = profile(41, std::nullopt);
  p.tags = std::vector<std::string>{"vip"};
  REQUIRE(w->upsert_customer(shop, p, store::profile_source::customer_payload));
  store::order_record o;
  o.order_id = 900;
  o.customer_id = 41;
  o.name = "#900";
  o.updated_at_ms = o.processed_at_ms = 50;
  o.net_amount_minor = 1234;
  o.currency = "USD";
  o.financial_status = "paid";
  REQUIRE(w->upsert_order(shop, o, nullptr));
  REQUIRE(w->record_refund(shop, 77, 900, 60, 100));
  REQUIRE(w->record_data_request(shop, 41, "wdr", 70));
  REQUIRE(w->quarantine(shop, "wq1", "orders/create", "2025-01", 80, "bad", R"({"customer":{"id":41}})"));
  REQUIRE(w->quarantine(shop, "wq2", "orders/create", "2025-01", 80, "bad", R"({"customer":{"id":4100}})"));
  REQUIRE(w->refresh_aggregates());
  REQUIRE(w->commit());
  auto r = db.open_reader();
  auto e = r->export_customer(shop, 41).value();
  REQUIRE(e.has_value());
  CHECK(e->customer.customer_id == 41);
  REQUIRE(e->orders.size() == 1);
  CHECK(e->orders[0].order.order_id == 900);
  REQUIRE(e->refunds.size() == 1);
  CHECK(e->refunds[0].refund_id == 77);
  CHECK(e->tag_events.size() == 1);
  REQUIRE(e->data_requests.size() == 1);
  CHECK(e->data_requests[0].webhook_id == "wdr");
  REQUIRE(e->raw_deliveries.size() == 1);  // not the body of customer 4100
  CHECK(e->raw_deliveries[0].webhook_id == "wq1");
  CHECK_FALSE(r->export_customer(shop, 42).value().has_value());
}

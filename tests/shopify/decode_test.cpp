// Payload decoding: Shopify's sample payloads, small inline bodies for the other topics, and
// bodies that must be rejected whole.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shopify/decode.hpp"

using namespace shopify;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SHOPSEG_FIXTURES) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

template <typename T>
T decode_as(topic t, const std::string& body) {
  decoder d;
  auto result = d.decode(t, body);
  if (!result) FAIL_CHECK(result.error().reason);
  REQUIRE(result.has_value());
  REQUIRE(std::holds_alternative<T>(*result));
  return std::get<T>(*result);
}

std::string decode_failure(topic t, const std::string& body) {
  decoder d;
  auto result = d.decode(t, body);
  REQUIRE_FALSE(result.has_value());
  return result.error().reason;
}

}  // namespace

TEST_CASE("topic names roundtrip through the table") {
  for (int i = 0; i < static_cast<int>(topic::unknown); ++i) {
    const auto t = static_cast<topic>(i);
    CHECK(topic_from_name(topic_name(t)) == t);
  }
  CHECK(topic_from_name("customer.tags_added") == topic::customer_tags_added);
  CHECK(topic_from_name("products/update") == topic::unknown);
  CHECK(topic_from_name("unknown") == topic::unknown);
  CHECK(topic_name(topic::unknown) == "unknown");
}

TEST_CASE("orders/create sample payload") {
  for (const char* file : {"orders_create.json", "orders_cancelled.json"}) {
    const auto order = decode_as<order_upsert>(topic::orders_create, fixture(file));
    CHECK(order.order_id == 820982911946154508ULL);
    CHECK(order.name == "#9999");
    CHECK(order.email == "jon@example.com");
    CHECK(order.net_amount_minor == 41495);
    CHECK(order.currency == "USD");
    CHECK(order.test);
    REQUIRE(order.cancelled_at_ms.has_value());
    CHECK(*order.cancelled_at_ms == 1640995200000);  // 2021-12-31T19:00:00-05:00
    CHECK(order.updated_at_ms == 1640995200000);
    CHECK(order.processed_at_ms == 1640995200000);
    CHECK(order.financial_status == "voided");
    CHECK(order.fulfillment_status.empty());
    REQUIRE(order.customer_id.has_value());
    CHECK(*order.customer_id == 115310627314723954ULL);
    REQUIRE(order.customer.has_value());
    CHECK(order.customer->email == "john@example.com");
    CHECK_FALSE(order.customer->phone.has_value());
    CHECK_FALSE(order.customer->created_at_ms.has_value());
    CHECK(order.customer->updated_at_ms == 0);
    CHECK(order.customer->state == "disabled");
  }
}

TEST_CASE("orders: fallbacks, guests and exponents") {
  const auto order = decode_as<order_upsert>(topic::orders_paid, R"({
    "id": 18446744073709551615, "updated_at": "2026-01-02T03:04:05Z",
    "created_at": "2026-01-01T00:00:00Z", "current_total_price": "1500",
    "currency": "JPY", "customer": null, "cancelled_at": null})");
  CHECK(order.order_id == 18446744073709551615ULL);
  CHECK(order.net_amount_minor == 1500);
  CHECK(order.currency == "JPY");
  CHECK(order.processed_at_ms == order.created_at_ms);
  CHECK_FALSE(order.customer_id.has_value());
  CHECK_FALSE(order.cancelled_at_ms.has_value());
  CHECK_FALSE(order.test);

  const auto kwd = decode_as<order_upsert>(topic::orders_updated, R"({"id": 1,
    "updated_at": "2026-01-02", "current_total_price_set": {"shop_money":
    {"amount": "12.345", "currency_code": "KWD"}}, "customer": {"id": 7, "tags": " vip, ,a "}})");
  CHECK(kwd.net_amount_minor == 12345);
  REQUIRE(kwd.customer->tags.has_value());
  CHECK(*kwd.customer->tags == std::vector<std::string>{"vip", "a"});
}

TEST_CASE("orders: missing or wrong fields name the field") {
  const std::string price = R"("current_total_price": "1.00", "currency": "USD")";
  CHECK(decode_failure(topic::orders_create, R"({"updated_at": "2026-01-01", )" + price + "}") ==
        "id: missing");
  CHECK(decode_failure(topic::orders_create, R"({"id": 1, )" + price + "}") ==
        "updated_at: missing");
  CHECK(decode_failure(topic::orders_create,
                       R"({"id": "x", "updated_at": "2026-01-01", )" + price + "}") ==
        "id: not a 64-bit unsigned id");
  for (const std::string bad_id : {"-1", "1.5", "8.2e17", "true", "\"gid://shopify/Order/\""}) {
    CAPTURE(bad_id);
    CHECK(decode_failure(topic::orders_create, R"({"id": )" + bad_id +
                                                   R"(, "updated_at": "2026-01-01", )" + price +
                                                   "}") == "id: not a 64-bit unsigned id");
  }
  // Beyond 64 bits simdjson rejects the number itself: the whole body is invalid.
  CHECK_FALSE(decode_failure(topic::orders_create, R"({"id": 18446744073709551616, )"
                                                   R"("updated_at": "2026-01-01"})").empty());
  CHECK(decode_failure(topic::orders_create,
                       R"({"id": 1, "updated_at": "yesterday", )" + price + "}") ==
        "updated_at: not an RFC 3339 timestamp");
  const std::string reason = decode_failure(topic::orders_create, R"({"id": 1,
    "updated_at": "2026-01-01", "current_total_price": "10.505", "currency": "USD"})");
  CHECK(reason.find("current_total_price") != std::string::npos);
  CHECK(reason.find("10.505") == std::string::npos);
  CHECK(decode_failure(topic::orders_create, R"({"id": 1, "updated_at": "2026-01-01",
    "current_total_price": 1.5, "currency": "USD"})") == "current_total_price: not a string");
  CHECK(decode_failure(topic::orders_create, R"({"id": 1, "updated_at": "2026-01-01", )" + price +
                                                 R"(, "customer": {"email": "a@b"}})") ==
        "customer.id: missing");
  CHECK(decode_failure(topic::orders_create, R"({"id": 1, "updated_at": "2026-01-01", )" + price +
                                                 R"(, "test": "yes"})") == "test: not a boolean");
}

TEST_CASE("orders/delete, orders/edited, refunds/create") {
  CHECK(decode_as<order_delete>(topic::orders_delete, R"({"id": 820982911946154508})").order_id ==
        820982911946154508ULL);
  CHECK(decode_as<order_edited>(topic::orders_edited,
                                R"({"order_edit": {"id": 5, "order_id": 820982911946154508}})")
            .order_id == 820982911946154508ULL);
  CHECK(decode_as<order_edited>(topic::orders_edited, R"({"id": 9})").order_id == 9);

  const auto refund = decode_as<refund_created>(topic::refunds_create, fixture("refunds_create.json"));
  CHECK(refund.refund_id == 890088186047892319ULL);
  CHECK(refund.order_id == 820982911946154508ULL);
  CHECK(refund.amount_minor == 8500);
  CHECK(refund.currency == "USD");
  CHECK(refund.created_at_ms == 1640995200000);

  const auto mixed = decode_as<refund_created>(topic::refunds_create, R"({"id": 1, "order_id": 2,
    "transactions": [{"kind": "refund", "status": "failure", "amount": "5.00"},
                     {"kind": "sale", "status": "success", "amount": "7.00"},
                     {"kind": "refund", "status": "success", "amount": "300", "currency": "JPY"}]})");
  CHECK(mixed.amount_minor == 300);
  CHECK(mixed.currency == "JPY");
  CHECK(decode_failure(topic::refunds_create, R"({"id": 1})") == "order_id: missing");
}

TEST_CASE("customers/* payloads") {
  const auto upsert = decode_as<customer_upsert>(topic::customers_update, fixture("customers_update.json"));
  CHECK(upsert.customer.customer_id == 706405506930370084ULL);
  CHECK(upsert.customer.email == "bob@biller.com");
  CHECK(upsert.customer.first_name == "Bob");
  CHECK(upsert.customer.state == "disabled");
  CHECK_FALSE(upsert.customer.phone.has_value());
  CHECK_FALSE(upsert.customer.tags.has_value());
  CHECK(upsert.customer.updated_at_ms == 1640995200000);

  const auto tagged = decode_as<customer_upsert>(topic::customers_create,
                                                 R"({"id": 3, "tags": "", "phone": ""})");
  CHECK(tagged.customer.tags == std::vector<std::string>{});
  CHECK(tagged.customer.phone == "");
  CHECK(decode_as<customer_delete>(topic::customers_delete, R"({"id": 4})").customer_id == 4);
  CHECK(decode_failure(topic::customers_enable, R"({"email": "x"})") == "id: missing");
}

TEST_CASE("customers/merge") {
  const auto rest = decode_as<customer_merge>(topic::customers_merge,
      R"({"customer_kept_id": 1, "customer_deleted_id": 2, "status": "completed"})");
  CHECK(rest.kept_id == 1);
  CHECK(rest.deleted_id == 2);
  CHECK(rest.completed);
  const auto gid = decode_as<customer_merge>(topic::customers_merge,
      R"({"admin_graphql_api_customer_kept_id": "gid://shopify/Customer/820982911946154508",
          "admin_graphql_api_customer_deleted_id": "gid://shopify/Customer/9", "status": "failed"})");
  CHECK(gid.kept_id == 820982911946154508ULL);
  CHECK_FALSE(gid.completed);
  CHECK(decode_failure(topic::customers_merge, R"({"customer_kept_id": 1})") ==
        "customer_deleted_id: missing");
}

TEST_CASE("customer tag changes and purchasing summary (GraphQL shape)") {
  const auto added = decode_as<tags_change>(topic::customer_tags_added,
      R"({"customerId": "gid://shopify/Customer/42", "tags": ["VIP", " gold "],
          "occurredAt": "2026-01-01T00:00:00.000Z"})");
  CHECK(added.customer_id == 42);
  CHECK(added.added);
  CHECK(added.tags == std::vector<std::string>{"VIP", "gold"});
  const auto removed = decode_as<tags_change>(topic::customer_tags_removed,
      R"({"customer_id": 43, "tags": "a,b", "occurred_at": "2026-01-01"})");
  CHECK_FALSE(removed.added);
  CHECK(removed.tags == std::vector<std::string>{"a", "b"});
  CHECK(decode_failure(topic::customer_tags_added, R"({"customerId": 1, "occurredAt": "2026-01-01"})") ==
        "tags: missing");
  CHECK(decode_failure(topic::customer_tags_added,
                       R"({"customerId": "gid://shopify/Customer/", "tags": [], "occurredAt": "2026-01-01"})") ==
        "customerId: not a 64-bit unsigned id");

  const auto summary = decode_as<purchasing_summary>(topic::customers_purchasing_summary,
      R"({"customerId":"gid://shopify/Customer/1","numberOfOrders":1,"amountSpent":{"amount":"100.00",
          "currencyCode":"USD"},"lastOrderId":"gid://shopify/Order/1","occurredAt":"2005-05-05T05:00:00.000Z"})");
  CHECK(summary.customer_id == 1);
  CHECK(summary.number_of_orders == 1);
  CHECK(summary.amount_spent_minor == 10000);
  CHECK(summary.currency == "USD");
  CHECK(summary.last_order_id == shopify::id_t{1});
  CHECK(summary.occurred_at_ms == 1115269200000);
  CHECK(decode_failure(topic::customers_purchasing_summary,
                       R"({"customerId": 1, "numberOfOrders": 1, "occurredAt": "2005-05-05"})") ==
        "amountSpent: missing");
}

TEST_CASE("privacy topics and app/uninstalled") {
  const auto redact = decode_as<customer_redact>(topic::customers_redact, fixture("customers_redact.json"));
  CHECK(redact.customer_id == 191167);
  CHECK(redact.orders_to_redact == std::vector<shopify::id_t>{299938, 280263, 220458});
  const auto request = decode_as<data_request>(topic::customers_data_request,
      R"({"shop_id": 1, "customer": {"id": 5}, "orders_requested": [820982911946154508],
          "data_request": {"id": 9999}})");
  CHECK(request.customer_id == 5);
  CHECK(request.orders_requested == std::vector<shopify::id_t>{820982911946154508ULL});
  CHECK(request.request_id == shopify::id_t{9999});
  CHECK(decode_failure(topic::customers_redact, R"({"orders_to_redact": []})") == "customer: missing");
  CHECK(decode_failure(topic::customers_redact, R"({"customer": {"id": 1}, "orders_to_redact": ["x"]})") ==
        "orders_to_redact: not a 64-bit unsigned id");
  decode_as<shop_redact>(topic::shop_redact, R"({"shop_id":954889,"shop_domain":"{shop}.myshopify.com"})");
  decode_as<app_uninstalled>(topic::app_uninstalled, R"({"id": 1})");
  decode_as<unknown_topic>(topic::unknown, "not even json");
}

TEST_CASE("invalid bodies are rejected whole") {
  const std::vector<std::string> bodies{
      "", "{", R"({"id": 1} x)", R"({"id": 1}{"id": 2})", "[]", R"("id")", "null", "42",
      std::string("{\"id\": 1, \"name\": \"\xff\xfe\"}"), R"({"id": 1, "updated_at": )",
      R"({"id": 1,})", R"({'id': 1})", std::string("{\"id\":1}\0", 9),
  };
  for (const auto& body : bodies) {
    CAPTURE(body);
    decoder d;
    const auto result = d.decode(topic::shop_redact, body);
    REQUIRE_FALSE(result.has_value());
    CHECK_FALSE(result.error().reason.empty());
  }
  CHECK(decode_failure(topic::app_uninstalled, "[1]") ==
        "invalid payload: the root is not a JSON object");
}

TEST_CASE("deep nesting and reuse of one decoder") {
  const std::string deep = "{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}";
  decoder d;
  CHECK_FALSE(d.decode(topic::shop_redact, deep).has_value());
  // The same decoder keeps working after an error, and with a smaller body after a larger one.
  const auto again = d.decode(topic::orders_delete, R"({"id": 7})");
  REQUIRE(again.has_value());
  CHECK(std::get<order_delete>(*again).order_id == 7);
  decoder moved = std::move(d);
  CHECK(moved.decode(topic::orders_delete, R"({"id": 8})").has_value());
  CHECK_THROWS_AS(moved.decode(topic::orders_delete, "{}").value(), std::runtime_error);
}

// Webhook admission without sockets: the answers of SPEC section 1 in their order, header
// spellings, secret rotation and shop keys, and the delivery a verified request becomes.
#include <doctest/doctest.h>

#include <string>

#include "shopify/hmac.hpp"
#include "webhook.hpp"

namespace {

using shopsegd::http::status;

constexpr const char* shop = "hot-rod-an.myshopify.com";
const std::string order_body =
    R"({"id": 9007199254740993, "updated_at": "2026-01-05T10:00:00-06:00", "current_total_price": "10.00", "currency": "USD"})";

shopsegd::config make_config() {
  auto c = shopsegd::parse_config(
               "[webhook]\nsecrets = [\"new-secret\", \"old-secret\"]\nmax_body_bytes = 1000\n"
               "[[shop]]\ndomain = \"hot-rod-an.myshopify.com\"\nsecrets = [\"shop-key\"]\n",
               "t.toml")
               .value();
  return c;
}

struct request_builder {
  shopsegd::http::request<shopsegd::http::string_body> req{shopsegd::http::verb::post, "/webhooks", 11};

  explicit request_builder(std::string body = order_body, const std::string& secret = "new-secret") {
    req.set("X-Shopify-Topic", "orders/create");
    req.set("X-Shopify-Shop-Domain", shop);
    req.set("X-Shopify-Webhook-Id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
    req.set("X-Shopify-API-Version", "2025-01");
    req.set("X-Shopify-Hmac-Sha256", shopify::sign_hmac(body, secret));
    req.body() = std::move(body);
    req.prepare_payload();
  }
};

struct gate_fixture {
  shopsegd::config cfg = make_config();
  shopsegd::webhook_gate gate{cfg};
  shopify::decoder decoder;

  boost::system::result<shopsegd::delivery, status> admit(request_builder b) {
    return gate.admit(std::move(b.req), decoder, 1234);
  }
};

}  // namespace

TEST_CASE("the head decides 404, 405 and 413 before the body is read, in that order") {
  gate_fixture f;
  request_builder b;
  CHECK_FALSE(f.gate.check_head(b.req).has_value());
  b.req.target("/webhooks?x=1");
  CHECK_FALSE(f.gate.check_head(b.req).has_value());
  b.req.target("/other");
  CHECK(f.gate.check_head(b.req) == status::not_found);
  b.req.method(shopsegd::http::verb::get);
  CHECK(f.gate.check_head(b.req) == status::not_found);  // 404 before 405
  b.req.target("/webhooks");
  CHECK(f.gate.check_head(b.req) == status::method_not_allowed);
  b.req.method(shopsegd::http::verb::post);
  b.req.set(shopsegd::http::field::content_length, "1001");
  CHECK(f.gate.check_head(b.req) == status::payload_too_large);
  b.req.set(shopsegd::http::field::content_length, "1000");
  CHECK_FALSE(f.gate.check_head(b.req).has_value());
}

TEST_CASE("a verified delivery becomes a decoded event with its headers") {
  gate_fixture f;
  auto d = f.admit(request_builder());
  REQUIRE(d.has_value());
  CHECK(d->shop == shop);
  CHECK(d->topic_name == "orders/create");
  CHECK(d->webhook_id == "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043");
  CHECK(d->api_version == "2025-01");
  CHECK(d->received_at_ms == 1234);
  REQUIRE(d->event.has_value());
  auto* order = std::get_if<shopify::order_upsert>(&*d->event);
  REQUIRE(order != nullptr);
  CHECK(order->order_id == 9007199254740993ULL);  // beyond 2^53, exact
  // Nothing keeps the raw body of an applied delivery by default: it does not go to the writer.
  CHECK(d->body.empty());
  f.cfg.store.keep_raw_bodies_days = 3;
  auto kept = f.admit(request_builder());
  REQUIRE(kept.has_value());
  CHECK(kept->body == order_body);
}

TEST_CASE("401 for a missing, wrong or foreign signature; every configured secret verifies") {
  gate_fixture f;
  CHECK(f.admit(request_builder(order_body, "old-secret")).has_value());  // rotation
  CHECK(f.admit(request_builder(order_body, "shop-key")).has_value());    // the shop's own key
  CHECK(f.admit(request_builder(order_body, "wrong")).error() == status::unauthorized);
  request_builder missing;
  missing.req.erase("X-Shopify-Hmac-Sha256");
  CHECK(f.admit(std::move(missing)).error() == status::unauthorized);
  request_builder garbage;
  garbage.req.set("X-Shopify-Hmac-Sha256", "not base64 at all!");
  CHECK(f.admit(std::move(garbage)).error() == status::unauthorized);
  // A shop's key does not verify deliveries claiming another shop.
  request_builder other(order_body, "shop-key");
  other.req.set("X-Shopify-Shop-Domain", "other.myshopify.com");
  CHECK(f.admit(std::move(other)).error() == status::unauthorized);
}

TEST_CASE("401 comes before 400: an unsigned request learns nothing about missing headers") {
  gate_fixture f;
  request_builder b(order_body, "wrong");
  b.req.erase("X-Shopify-Topic");
  CHECK(f.admit(std::move(b)).error() == status::unauthorized);
}

TEST_CASE("400 when Topic, Shop-Domain or Webhook-Id is missing from a verified request") {
  for (const char* header : {"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id"}) {
    CAPTURE(header);
    gate_fixture f;
    request_builder b;
    b.req.erase(header);
    CHECK(f.admit(std::move(b)).error() == status::bad_request);
  }
}

TEST_CASE("headers count with or without the X- prefix, in any case") {
  gate_fixture f;
  request_builder b;
  for (const char* name : {"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id",
                           "X-Shopify-Hmac-Sha256"}) {
    std::string value(b.req[name]);
    b.req.erase(name);
    std::string bare = std::string(name).substr(2);
    for (char& c : bare) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    b.req.set(bare, value);
  }
  auto d = f.admit(std::move(b));
  REQUIRE(d.has_value());
  CHECK(d->shop == shop);
}

TEST_CASE("403 for a verified shop outside allowed_shops, after 401 and 400") {
  gate_fixture f;
  f.cfg.webhook.allowed_shops = {"someone-else.myshopify.com"};
  CHECK(f.admit(request_builder()).error() == status::forbidden);
  request_builder unsigned_request(order_body, "wrong");
  CHECK(f.admit(std::move(unsigned_request)).error() == status::unauthorized);
  request_builder no_id;
  no_id.req.erase("X-Shopify-Webhook-Id");
  CHECK(f.admit(std::move(no_id)).error() == status::bad_request);
}

TEST_CASE("a verified but undecodable body is admitted for quarantine with its reason") {
  gate_fixture f;
  for (const std::string& body : {std::string(R"({"id": 1, "updated_at": )"), std::string("[1,2]"),
                                 std::string(R"({"updated_at": "2026-01-05T10:00:00Z"})"),
                                 std::string("{\"id\": 1, \"note\": \"\xff\"}")}) {
    CAPTURE(body);
    auto d = f.admit(request_builder(body));
    REQUIRE(d.has_value());
    CHECK_FALSE(d->event.has_value());
    CHECK_FALSE(d->quarantine_reason.empty());
    CHECK(d->body == body);
  }
}

TEST_CASE("an unknown topic is admitted as an unknown_topic event") {
  gate_fixture f;
  request_builder b;
  b.req.set("X-Shopify-Topic", "products/create");
  auto d = f.admit(std::move(b));
  REQUIRE(d.has_value());
  REQUIRE(d->event.has_value());
  CHECK(std::holds_alternative<shopify::unknown_topic>(*d->event));
}

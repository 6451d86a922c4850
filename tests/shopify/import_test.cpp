// The export reader: bulk-operation JSONL with children before and after their parents, REST
// lines and pages, rejections by line, and the wire lines the daemon decodes back.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "shopify/decode.hpp"
#include "shopify/import.hpp"

using namespace shopify;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SHOPSEG_FIXTURES) + "/import/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Feeds a file line by line as the client does, then finishes.
import_output read_lines(const std::string& text, std::uint64_t* orphans = nullptr) {
  import_reader reader;
  import_output out;
  std::uint64_t line = 0, offset = 0;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    reader.feed_line(l, ++line, offset, out);
    offset += l.size() + 1;
  }
  const auto left = reader.finish(out);
  if (orphans) *orphans = left;
  return out;
}

const order_upsert& order_at(const import_output& out, std::size_t i) {
  REQUIRE(i < out.records.size());
  REQUIRE(std::holds_alternative<order_upsert>(out.records[i].value));
  return std::get<order_upsert>(out.records[i].value);
}

const customer_snapshot& customer_at(const import_output& out, std::size_t i) {
  REQUIRE(i < out.records.size());
  REQUIRE(std::holds_alternative<customer_upsert>(out.records[i].value));
  return std::get<customer_upsert>(out.records[i].value).customer;
}

}  // namespace

TEST_CASE("bulk JSONL: parents, children before and after them, and lines that cannot be used") {
  std::uint64_t orphans = 0;
  const auto out = read_lines(fixture("bulk_customers_orders.jsonl"), &orphans);
  // Given out: Ann, her order; Bo's three early orders wait for Bo (line 7) and follow him.
  REQUIRE(out.records.size() == 8);
  const auto& ann = customer_at(out, 0);
  CHECK(ann.customer_id == 9007199254740993ULL);  // 2^53 + 1: never through a double
  CHECK(ann.email == "Ann@Example.com");
  CHECK(ann.first_name == "Ann");
  CHECK(ann.state == "enabled");
  CHECK(ann.tags == std::vector<std::string>{"race-team", "VIP"});
  CHECK(ann.created_at_ms == 1677664800000);
  CHECK(ann.updated_at_ms == 1793534400000);

  const auto& first = order_at(out, 1);
  CHECK(first.order_id == 18446744073709551615ULL);
  CHECK(first.customer_id == 9007199254740993ULL);
  CHECK(first.net_amount_minor == 310000);
  CHECK(first.currency == "USD");
  CHECK(first.financial_status == "paid");
  CHECK(first.fulfillment_status == "fulfilled");
  CHECK(out.records[1].line == 2);

  CHECK(customer_at(out, 2).customer_id == 4004);
  CHECK(out.records[2].line == 7);
  CHECK(customer_at(out, 2).state == "disabled");
  CHECK(customer_at(out, 2).tags == std::vector<std::string>{});
  const auto& early = order_at(out, 3);
  CHECK(early.order_id == 2002);
  CHECK(early.customer_id == 4004);
  CHECK(early.net_amount_minor == 12050);
  CHECK(early.processed_at_ms == 1718026200000);  // 08:30 at -05:00
  CHECK(out.records[3].line == 4);
  const auto& cancelled = order_at(out, 4);
  CHECK(cancelled.order_id == 2003);
  CHECK(cancelled.cancelled_at_ms.has_value());
  CHECK(cancelled.financial_status == "voided");
  CHECK(cancelled.created_at_ms == cancelled.updated_at_ms);  // no createdAt: updatedAt
  // Line 6 (2004) has 12.3456 USD: rejected, not waiting.
  const auto& test = order_at(out, 5);
  CHECK(test.order_id == 2005);
  CHECK(test.test);
  CHECK(order_at(out, 6).order_id == 2009);  // inline customer {id}
  CHECK(order_at(out, 6).customer_id == 9007199254740993ULL);
  // Customer 777 never appears: its order is given out at the end, under that id.
  CHECK(orphans == 1);
  CHECK(order_at(out, 7).order_id == 2006);
  CHECK(order_at(out, 7).customer_id == 777);
  CHECK(out.records[7].line == 9);

  CHECK(out.skipped == 1);  // the line item
  REQUIRE(out.rejected.size() == 3);
  CHECK(out.rejected[0].line == 6);
  CHECK(out.rejected[0].reason == "currentTotalPriceSet.shopMoney.amount: not an exact decimal amount in its currency");
  CHECK(out.rejected[1].line == 10);
  CHECK(out.rejected[1].reason.starts_with("invalid JSON"));
  CHECK(out.rejected[2].line == 11);
  CHECK(out.rejected[2].reason == "updatedAt: missing");
}

TEST_CASE("bulk JSONL: a waiting child holds back the resume point until its parent is seen") {
  import_reader reader;
  import_output out;
  reader.feed_line(R"({"id":"gid://shopify/Order/1","updatedAt":"2025-01-01T00:00:00Z","currentTotalPriceSet":{"shopMoney":{"amount":"1.00","currencyCode":"USD"}},"__parentId":"gid://shopify/Customer/5"})",
                   1, 0, out);
  CHECK(out.records.empty());
  REQUIRE(reader.oldest_pending());
  CHECK(reader.oldest_pending()->offset == 0);
  CHECK(reader.oldest_pending()->line == 1);
  reader.feed_line(R"({"id":"gid://shopify/Customer/5"})", 2, 300, out);
  CHECK(out.records.size() == 2);
  CHECK(std::holds_alternative<customer_upsert>(out.records[0].value));
  CHECK(!reader.oldest_pending());
  // A later child of a customer already seen is given out at once.
  reader.feed_line(R"({"id":"gid://shopify/Order/2","updatedAt":"2025-01-01T00:00:00Z","currentTotalPriceSet":{"shopMoney":{"amount":"1.00","currencyCode":"USD"}},"__parentId":"gid://shopify/Customer/5"})",
                   3, 400, out);
  CHECK(out.records.size() == 3);
  CHECK(reader.finish(out) == 0);
}

TEST_CASE("REST lines and one-line pages") {
  const auto out = read_lines(fixture("rest_customers.jsonl"));
  REQUIRE(out.records.size() == 2);
  const auto& bob = customer_at(out, 0);
  CHECK(bob.customer_id == 706405506930370084ULL);
  CHECK(bob.tags == std::vector<std::string>{"loyal", "Early-Adopter"});
  CHECK(customer_at(out, 1).customer_id == 115310627314723954ULL);
  CHECK(out.records[1].line == 3);
  REQUIRE(out.rejected.size() == 2);
  CHECK(out.rejected[0].line == 2);
  CHECK(out.rejected[0].reason == "id: not a 64-bit unsigned id");
  CHECK(out.rejected[1].line == 3);
  CHECK(out.rejected[1].reason == "customers[1].id: missing");
}

TEST_CASE("REST page spread over a file") {
  const std::string text = fixture("rest_orders_page.json");
  CHECK(starts_multiline_page(text.substr(0, text.find('\n'))));
  CHECK_FALSE(starts_multiline_page(R"({"id": 1})"));
  import_reader reader;
  import_output out;
  REQUIRE(reader.feed_page(text, 1, 0, out));
  REQUIRE(out.records.size() == 2);
  const auto& yen = order_at(out, 0);
  CHECK(yen.net_amount_minor == 5000);
  CHECK(yen.currency == "JPY");
  CHECK(yen.customer_id == 706405506930370084ULL);
  CHECK(order_at(out, 1).customer_id == std::nullopt);  // a guest order
  CHECK(order_at(out, 1).net_amount_minor == 1200);
  REQUIRE(out.rejected.size() == 1);
  CHECK(out.rejected[0].reason == "orders[2].updated_at: missing");
  CHECK_FALSE(reader.feed_page("{\"orders\": [", 1, 0, out));
}

TEST_CASE("wire lines decode back to the same events") {
  const auto out = read_lines(fixture("bulk_customers_orders.jsonl"));
  decoder d;
  for (const auto& record : out.records) {
    std::string wire;
    append_wire_line(wire, record.value);
    REQUIRE(wire.size() > 3);
    CHECK(wire.back() == '\n');
    const topic t = wire_topic(wire[0]);
    REQUIRE(t != topic::unknown);
    auto back = d.decode(t, std::string_view(wire).substr(2, wire.size() - 3));
    REQUIRE_MESSAGE(back.has_value(), wire);
    if (const auto* o = std::get_if<order_upsert>(&record.value)) {
      const auto& b = std::get<order_upsert>(*back);
      CHECK(b.order_id == o->order_id);
      CHECK(b.customer_id == o->customer_id);
      CHECK(b.updated_at_ms == o->updated_at_ms);
      CHECK(b.processed_at_ms == o->processed_at_ms);
      CHECK(b.created_at_ms == o->created_at_ms);
      CHECK(b.net_amount_minor == o->net_amount_minor);
      CHECK(b.currency == o->currency);
      CHECK(b.test == o->test);
      CHECK(b.cancelled_at_ms == o->cancelled_at_ms);
      CHECK(b.financial_status == o->financial_status);
      CHECK(b.name == o->name);
    } else {
      const auto& c = std::get<customer_upsert>(record.value).customer;
      const auto& b = std::get<customer_upsert>(*back).customer;
      CHECK(b.customer_id == c.customer_id);
      CHECK(b.email == c.email);
      CHECK(b.phone == c.phone);
      CHECK(b.first_name == c.first_name);
      CHECK(b.last_name == c.last_name);
      CHECK(b.state == c.state);
      CHECK(b.created_at_ms == c.created_at_ms);
      CHECK(b.updated_at_ms == c.updated_at_ms);
      CHECK(b.tags == c.tags);
    }
  }
  std::string quoted;
  customer_upsert tricky;
  tricky.customer.customer_id = 1;
  tricky.customer.first_name = "A \"quoted\"\\ name\t";
  append_wire_line(quoted, tricky);
  auto back = d.decode(topic::customers_update, std::string_view(quoted).substr(2, quoted.size() - 3));
  REQUIRE(back.has_value());
  CHECK(std::get<customer_upsert>(*back).customer.first_name == tricky.customer.first_name);
}

// Customer and order answers: by id, by email or phone, explain, export.
#include <algorithm>

#include "ingest.hpp"
#include "query_context.hpp"
#include "render.hpp"
#include "rules/evaluate.hpp"
#include "segments.hpp"
#include "shopify/money.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

void time_field(json_writer& w, std::string_view key, std::optional<std::int64_t> ms) {
  w.key(key);
  if (ms) w.value(shopify::format_timestamp_ms(*ms));
  else w.null();
}

// The rows behind the answer: orders, refunds, memberships, their changes and the tag history.
void render_history(json_writer& w, const store::customer_export& e, const config& cfg) {
  w.key("orders").begin_array();
  for (const auto& o : e.orders) render_order(w, o, cfg);
  w.end_array().key("refunds").begin_array();
  for (const auto& r : e.refunds) {
    w.begin_object().field("id", r.refund_id).field("order_id", r.order_id);
    w.field("amount", shopify::format_money(r.amount_minor, shopify::currency_exponent(e.customer.totals.currency)));
    time_field(w, "created_at", r.created_at_ms);
    w.end_object();
  }
  w.end_array().key("segments").begin_array();
  for (const auto& s : resolve_segments(cfg, e.customer.segments).segments) w.value(s);
  w.end_array().key("changes").begin_array();
  for (const auto& ch : e.changes) {
    w.begin_object().field("seq", ch.seq).field("at", shopify::format_timestamp_ms(ch.at_ms)).field("segment", ch.segment);
    w.field("change", ch.joined ? "joined" : "left").field("cause", ch.cause).end_object();
  }
  w.end_array().key("tag_events").begin_array();
  for (const auto& t : e.tag_events) {
    w.begin_object().field("at", shopify::format_timestamp_ms(t.at_ms)).field("kind", t.kind).key("tags").begin_array();
    for (const auto& tag : t.tags) w.value(tag);
    w.end_array().end_object();
  }
  w.end_array();
}

// What Shopify told us about the customer: its purchasing summary, data requests, merges and
// the raw bodies that name it.
void render_records(json_writer& w, const store::customer_export& e) {
  w.field("profile_email", e.profile_email).key("purchasing_summary");
  if (e.customer.shopify_number_of_orders) {
    const int exponent = shopify::currency_exponent(e.customer.shopify_currency.value_or(""));
    w.begin_object().field("amount_spent", shopify::format_money(e.customer.shopify_amount_spent_minor.value_or(0), exponent));
    w.field("currency", e.customer.shopify_currency).field("number_of_orders", e.customer.shopify_number_of_orders);
    time_field(w, "at", e.shopify_summary_at_ms);
    w.end_object();
  } else {
    w.null();
  }
  w.key("data_requests").begin_array();
  for (const auto& d : e.data_requests)
    w.begin_object().field("webhook_id", d.webhook_id).field("at", shopify::format_timestamp_ms(d.at_ms)).end_object();
  w.end_array().key("merged_ids").begin_array();
  for (auto merged : e.merged_ids) w.value(merged);
  w.end_array().key("raw_deliveries").begin_array();
  for (const auto& r : e.raw_deliveries) {
    w.begin_object().field("source", r.source).field("webhook_id", r.webhook_id);
    if (!r.topic.empty()) w.field("topic", r.topic);
    w.field("received_at", shopify::format_timestamp_ms(r.received_at_ms)).field("body", r.body).end_object();
  }
  w.end_array();
}

}  // namespace

answer query_api::customer(const context& c) {
  auto id = parse_id(c.params[1]);
  if (!id) return c.fail(http::status::bad_request, "bad_id", "customer id must be an unsigned 64-bit integer");
  if (auto b = reader_->begin(); !b) return c.store_failure(b.error());
  snapshot held{*reader_};
  auto found = reader_->customer(c.params[0], *id);
  if (!found) return c.store_failure(found.error());
  if (!*found) return c.fail(http::status::not_found, "not_found", "no such customer");
  auto as_of = reader_->last_event_at(c.params[0]);
  if (!as_of) return c.store_failure(as_of.error());
  const auto epoch = live_.load();
  json_writer w;
  render_customer(w, **found, epoch->for_customer({(*found)->shop, (*found)->customer_id}), *as_of, (*found)->segments);
  return c.ok(w.take());
}

answer query_api::customers_lookup(const context& c) {
  auto email = c.arg("email");
  auto phone = c.arg("phone");
  if ((!email || email->empty()) == (!phone || phone->empty()))
    return c.fail(http::status::bad_request, "missing_lookup", "give exactly one of ?email=ADDRESS or ?phone=NUMBER");
  // One statement reads the customers and as_of together: one snapshot, no BEGIN and COMMIT.
  auto found = email && !email->empty() ? reader_->lookup_by_email(c.params[0], *email)
                                        : reader_->lookup_by_phone(c.params[0], *phone);
  if (!found) return c.store_failure(found.error());
  const auto epoch = live_.load();
  json_writer w;
  w.begin_object().key("customers").begin_array();
  for (const auto& customer : found->customers)
    render_customer(w, customer, epoch->for_customer({customer.shop, customer.customer_id}),
                    found->last_event_at_ms, customer.segments);
  w.end_array().end_object();
  return c.ok(w.take());
}

answer query_api::explain(const context& c) {
  auto id = parse_id(c.params[1]);
  if (!id) return c.fail(http::status::bad_request, "bad_id", "customer id must be an unsigned 64-bit integer");
  auto name = c.arg("segment");
  const auto epoch = live_.load();
  const config& cfg = epoch->for_customer({c.params[0], *id});
  const segment_config* segment = nullptr;
  for (const auto& s : cfg.segments)
    if (name && s.name == *name) segment = &s;
  if (!segment) return c.fail(http::status::not_found, "unknown_segment", "give ?segment=NAME of a configured segment");
  if (auto b = reader_->begin(); !b) return c.store_failure(b.error());
  snapshot held{*reader_};
  auto found = reader_->customer(c.params[0], *id);
  if (!found) return c.store_failure(found.error());
  if (!*found) return c.fail(http::status::not_found, "not_found", "no such customer");
  auto ledger = reader_->ledger(c.params[0], *id);
  if (!ledger) return c.store_failure(ledger.error());
  std::optional<rules::percentile_fact> percentile;
  if ((*found)->totals.number_of_orders > 0) {
    auto p = reader_->spend_rank(c.params[0], (*found)->totals.amount_spent_minor);
    if (!p) return c.store_failure(p.error());
    percentile = rules::percentile_fact{p->first, p->second};
  }
  const auto& memberships = (*found)->segments;
  const calendar days(cfg);
  const std::int64_t now = state_.clock ? state_.clock() : now_ms();
  const auto facts = facts_of(**found, *ledger, days, percentile);
  const auto e = rules::explain(*segment->query, facts, days.day_of(c.params[0], now));
  json_writer w;
  w.begin_object().field("shop", c.params[0]).field("id", (*found)->customer_id);
  w.field("segment", segment->name).field("query", segment->query_text);
  w.field("matches", e.matched);
  const bool member = std::find(memberships.begin(), memberships.end(), segment->name) != memberships.end();
  w.field("member", member);  // a tier segment that matches is a membership only if it wins
  w.field("today", rules::format_day(days.day_of(c.params[0], now)));
  w.key("clauses").begin_array();
  for (const auto& clause : e.clauses) {
    w.begin_object().field("clause", clause.clause).field("saw", clause.saw).field("held", clause.held);
    w.field("line", clause.at.line).field("column", clause.at.column).end_object();
  }
  w.end_array().end_object();
  return c.ok(w.take());
}

answer query_api::order(const context& c) {
  auto id = parse_id(c.params[1]);
  if (!id) return c.fail(http::status::bad_request, "bad_id", "order id must be an unsigned 64-bit integer");
  auto found = reader_->order(c.params[0], *id);
  if (!found) return c.store_failure(found.error());
  if (!*found) return c.fail(http::status::not_found, "not_found", "no such order");
  const auto epoch = live_.load();
  json_writer w;
  render_order(w, **found, *epoch->current);
  return c.ok(w.take());
}

// Everything held about one customer (customers/data_request): the answer of /v1/customers/..
// plus the rows behind it and the raw payloads that name the customer.
answer query_api::export_customer(const context& c) {
  auto id = parse_id(c.params[1]);
  if (!id) return c.fail(http::status::bad_request, "bad_id", "customer id must be an unsigned 64-bit integer");
  if (auto b = reader_->begin(); !b) return c.store_failure(b.error());
  snapshot held{*reader_};
  auto found = reader_->export_customer(c.params[0], *id);
  if (!found) return c.store_failure(found.error());
  if (!*found) return c.fail(http::status::not_found, "not_found", "no such customer");
  auto as_of = reader_->last_event_at(c.params[0]);
  if (!as_of) return c.store_failure(as_of.error());
  const auto& e = **found;
  const auto epoch = live_.load();
  const config& cfg = epoch->for_customer({e.customer.shop, e.customer.customer_id});
  json_writer w;
  w.begin_object().field("shop", e.customer.shop).field("id", e.customer.customer_id);
  w.key("customer");
  render_customer(w, e.customer, cfg, *as_of, e.customer.segments);
  render_history(w, e, cfg);
  render_records(w, e);
  w.end_object();
  return c.ok(w.take());
}

}  // namespace shopsegd

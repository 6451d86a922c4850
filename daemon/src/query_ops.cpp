// The change log (with long-polling), quarantine and its retry, reload.
#include "ingest.hpp"
#include "query_context.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

constexpr std::uint64_t max_wait_seconds = 60;

response retry_verdict(std::int64_t id, const std::string& reason, std::optional<ingest_status> verdict,
                       unsigned version, bool keep_alive) {
  auto fail = [&](http::status s, std::string_view code, std::string_view message) {
    return reply(s, error_json(code, message), version, keep_alive);
  };
  if (!verdict) return fail(http::status::service_unavailable, "overloaded", "the ingest queue is full; retry shortly");
  std::string_view outcome;
  switch (*verdict) {
    // A duplicate was applied by an earlier delivery of the same webhook id (Shopify retried
    // it): its content is in the store, and the entry was removed all the same.
    case ingest_status::committed:
    case ingest_status::duplicate: outcome = "applied"; break;
    case ingest_status::quarantined: outcome = "quarantined"; break;
    case ingest_status::not_found: return fail(http::status::not_found, "not_found", "no such quarantine entry");
    case ingest_status::storage_full:
    case ingest_status::failed:
      return fail(http::status::service_unavailable, "store_unavailable", "the store could not apply it; retry shortly");
  }
  json_writer w;
  w.begin_object().field("id", id).field("outcome", outcome).key("reason");
  if (*verdict == ingest_status::quarantined) w.value(reason);
  else w.null();
  w.end_object();
  return reply(http::status::ok, w.take(), version, keep_alive);
}

}  // namespace

answer query_api::changes(const context& c) {
  std::int64_t after = 0;
  if (auto a = c.arg("after")) {
    auto v = parse_id(*a);
    if (!v) return c.fail(http::status::bad_request, "bad_after", "after must be a change sequence number");
    after = static_cast<std::int64_t>(*v);
  }
  int limit = 1000;
  if (auto l = c.arg("limit")) {
    auto v = parse_id(*l);
    if (!v || *v == 0 || *v > 10000) return c.fail(http::status::bad_request, "bad_limit", "limit must be 1 to 10000");
    limit = static_cast<int>(*v);
  }
  std::uint64_t wait = 0;
  if (auto s = c.arg("wait")) {
    auto v = parse_id(*s);
    if (!v || *v > max_wait_seconds) return c.fail(http::status::bad_request, "bad_wait", "wait must be 0 to 60 seconds");
    wait = *v;
  }
  auto entries = reader_->changes(after, limit);
  if (!entries) return c.store_failure(entries.error());
  if (entries->empty() && wait > 0 && !c.deadline_passed && state_.changes)
    return wait_for_changes{std::chrono::steady_clock::now() + std::chrono::seconds(wait)};
  json_writer w;
  w.begin_object().key("changes").begin_array();
  std::int64_t last = after;
  for (const auto& e : *entries) {
    w.begin_object().field("seq", e.seq).field("at", shopify::format_timestamp_ms(e.at_ms));
    w.field("shop", e.shop).field("customer_id", e.customer_id).field("segment", e.segment);
    w.field("change", e.joined ? "joined" : "left").field("cause", e.cause).end_object();
    last = e.seq;
  }
  w.end_array().field("last_seq", last).end_object();
  return c.ok(w.take());
}

answer query_api::quarantine(const context& c) {
  std::int64_t after = 0;
  if (auto a = c.arg("after")) after = static_cast<std::int64_t>(parse_id(*a).value_or(0));
  auto entries = reader_->quarantined(after, 1000);
  if (!entries) return c.store_failure(entries.error());
  json_writer w;
  w.begin_object().key("quarantine").begin_array();
  for (const auto& e : *entries) {
    w.begin_object().field("id", e.id).field("shop", e.shop).field("webhook_id", e.webhook_id);
    w.field("topic", e.topic).field("api_version", e.api_version).field("reason", e.reason);
    w.field("received_at", shopify::format_timestamp_ms(e.received_at_ms));
    w.field("received_at_ms", e.received_at_ms).field("body_bytes", static_cast<std::int64_t>(e.body.size()));
    w.end_object();
  }
  w.end_array().end_object();
  return c.ok(w.take());
}

// The body is decoded again here (the decoder may have learnt what it refused before, after an
// upgrade); the writer then applies it like a webhook or keeps it with the new reason.
answer query_api::retry(const context& c) {
  auto id = parse_id(c.params[0]);
  if (!id || *id > static_cast<std::uint64_t>(INT64_MAX))
    return c.fail(http::status::bad_request, "bad_id", "give the id of a quarantine entry");
  if (!state_.pipeline) return c.fail(http::status::service_unavailable, "unavailable", "retry is not available");
  auto entry = reader_->quarantine_entry_by_id(static_cast<std::int64_t>(*id));
  if (!entry) return c.store_failure(entry.error());
  if (!*entry) return c.fail(http::status::not_found, "not_found", "no such quarantine entry");
  auto& e = **entry;
  delivery d;
  d.shop = std::move(e.shop);
  d.webhook_id = std::move(e.webhook_id);
  d.topic_name = std::move(e.topic);
  d.api_version = std::move(e.api_version);
  d.topic = shopify::topic_from_name(d.topic_name);
  d.received_at_ms = e.received_at_ms;
  d.body = std::move(e.body);
  thread_local shopify::decoder decoder;
  auto decoded = decoder.decode(d.topic, d.body);
  if (decoded) d.event = std::move(*decoded);
  else d.quarantine_reason = decoded.error().reason;
  const auto qid = static_cast<std::int64_t>(*id);
  std::string reason = d.quarantine_reason;
  return submit_delivery{std::move(d), qid,
                         [qid, reason = std::move(reason), version = c.req.version(),
                          keep_alive = c.req.keep_alive()](std::optional<ingest_status> verdict) {
                           return retry_verdict(qid, reason, verdict, version, keep_alive);
                         }};
}

answer query_api::reload(const context& c) {
  if (!state_.reload) return c.fail(http::status::service_unavailable, "unavailable", "reload is not available");
  auto errors = state_.reload();
  json_writer w;
  if (errors.empty()) {
    w.begin_object().field("status", "reloading").end_object();
    return reply(http::status::accepted, w.take(), c.req);
  }
  w.begin_object().key("error").begin_object().field("code", "invalid_config");
  w.field("message", "the configuration is invalid; the running one stays").key("errors").begin_array();
  for (const auto& e : errors) w.value(e);
  w.end_array().end_object().end_object();
  return reply(http::status::unprocessable_entity, w.take(), c.req);
}

}  // namespace shopsegd

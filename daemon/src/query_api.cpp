// Route table and handlers of the query API. Store failures map to HTTP status in one place
// (store_failure); a 500 body never shows internals.
#include "query_api.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "ingest.hpp"
#include "json.hpp"
#include "render.hpp"
#include "rules/evaluate.hpp"
#include "segments.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

using response = http::response<http::string_body>;

response reply(http::status status, std::string body, unsigned version, bool keep_alive) {
  response res{status, version};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::server, "shopsegd");
  res.body() = std::move(body);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += s[i];
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

struct query_api::context {
  const http::request<http::string_body>& req;
  std::vector<std::string> params;  // path segments matched by "{}"
  std::vector<std::pair<std::string, std::string>> query;

  std::optional<std::string> arg(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return std::nullopt;
  }
  response ok(std::string body) const {
    return reply(http::status::ok, std::move(body), req.version(), req.keep_alive());
  }
  response fail(http::status s, std::string_view code, std::string_view message) const {
    return reply(s, error_json(code, message), req.version(), req.keep_alive());
  }
  // The one place a store error becomes an HTTP answer.
  response store_failure(const boost::system::error_code&) const {
    return fail(http::status::service_unavailable, "store_unavailable",
                "the store could not answer; retry shortly");
  }
};

struct query_api::route {
  http::verb method;
  std::vector<std::string_view> pattern;  // "{}" matches one segment
  bool admin_only;
  response (query_api::*handler)(const context&);
};

query_api::query_api(const config& cfg, const live_config& live, std::unique_ptr<store::reader> reader,
                     daemon_state state)
    : cfg_(cfg), live_(live), reader_(std::move(reader)), state_(std::move(state)) {}

response query_api::handle(const http::request<http::string_body>& req, access rights) {
  try {
    return dispatch(req, rights);
  } catch (const std::exception&) {
    return reply(http::status::internal_server_error,
                 error_json("internal", "the request could not be answered"), req.version(),
                 false);
  }
}

response query_api::dispatch(const http::request<http::string_body>& req, access rights) {
  static const std::vector<route> routes = {
      {http::verb::get, {"v1", "customers", "{}", "{}"}, false, &query_api::customer},
      {http::verb::get, {"v1", "customers", "{}"}, false, &query_api::customers_by_email},
      {http::verb::get, {"v1", "customers", "{}", "{}", "explain"}, false, &query_api::explain},
      {http::verb::get, {"v1", "changes"}, false, &query_api::changes},
      {http::verb::get, {"v1", "orders", "{}", "{}"}, false, &query_api::order},
      {http::verb::get, {"v1", "quarantine"}, true, &query_api::quarantine},
      {http::verb::get, {"v1", "health"}, false, &query_api::health},
      {http::verb::post, {"v1", "reload"}, true, &query_api::reload},
  };
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  context ctx{req, {}, {}};
  if (path.size() < target.size()) {
    std::string_view q = target.substr(path.size() + 1);
    while (!q.empty()) {
      auto amp = q.find('&');
      auto pair = q.substr(0, amp);
      auto eq = pair.find('=');
      ctx.query.emplace_back(percent_decode(pair.substr(0, eq)),
                             eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
      q = amp == std::string_view::npos ? "" : q.substr(amp + 1);
    }
  }
  std::vector<std::string> segments;
  for (std::size_t pos = 1; pos <= path.size();) {
    auto slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    segments.push_back(percent_decode(path.substr(pos, slash - pos)));
    pos = slash + 1;
  }
  bool path_matched = false;
  for (const auto& r : routes) {
    if (r.pattern.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (std::size_t i = 0; match && i < segments.size(); ++i) {
      if (r.pattern[i] == "{}") params.push_back(segments[i]);
      else match = r.pattern[i] == segments[i];
    }
    if (!match) continue;
    path_matched = true;
    if (r.method != req.method()) continue;
    if (r.admin_only && rights != access::admin)
      return ctx.fail(http::status::forbidden, "forbidden", "this route is served on the admin socket only");
    ctx.params = std::move(params);
    return (this->*r.handler)(ctx);
  }
  if (path_matched) return ctx.fail(http::status::method_not_allowed, "method_not_allowed", "method not allowed on this route");
  return ctx.fail(http::status::not_found, "not_found", "no such route");
}

namespace {
// Ends the reader's snapshot however a handler returns.
struct snapshot {
  store::reader& r;
  ~snapshot() { r.end(); }
};
}  // namespace

response query_api::customer(const context& c) {
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

response query_api::customers_by_email(const context& c) {
  auto email = c.arg("email");
  if (!email || email->empty())
    return c.fail(http::status::bad_request, "missing_email", "give ?email=ADDRESS");
  if (auto b = reader_->begin(); !b) return c.store_failure(b.error());
  snapshot held{*reader_};
  auto found = reader_->customers_by_email(c.params[0], *email);
  if (!found) return c.store_failure(found.error());
  auto as_of = reader_->last_event_at(c.params[0]);
  if (!as_of) return c.store_failure(as_of.error());
  const auto epoch = live_.load();
  json_writer w;
  w.begin_object().key("customers").begin_array();
  for (const auto& customer : *found)
    render_customer(w, customer, epoch->for_customer({customer.shop, customer.customer_id}), *as_of, customer.segments);
  w.end_array().end_object();
  return c.ok(w.take());
}

response query_api::explain(const context& c) {
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
  const std::int64_t now = now_ms();
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

response query_api::changes(const context& c) {
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
  auto entries = reader_->changes(after, limit);
  if (!entries) return c.store_failure(entries.error());
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

response query_api::order(const context& c) {
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

response query_api::quarantine(const context& c) {
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

response query_api::reload(const context& c) {
  if (!state_.reload) return c.fail(http::status::service_unavailable, "unavailable", "reload is not available");
  auto errors = state_.reload();
  json_writer w;
  if (errors.empty()) {
    w.begin_object().field("status", "reloading").end_object();
    return reply(http::status::accepted, w.take(), c.req.version(), c.req.keep_alive());
  }
  w.begin_object().key("error").begin_object().field("code", "invalid_config");
  w.field("message", "the configuration is invalid; the running one stays").key("errors").begin_array();
  for (const auto& e : errors) w.value(e);
  w.end_array().end_object().end_object();
  return reply(http::status::unprocessable_entity, w.take(), c.req.version(), c.req.keep_alive());
}

response query_api::health(const context& c) {
  json_writer w;
  w.begin_object().field("status", "ok");
  w.field("queue_depth", static_cast<std::uint64_t>(state_.queue_depth ? state_.queue_depth() : 0));
  w.field("time", now_ms());
  w.end_object();
  return c.ok(w.take());
}

}  // namespace shopsegd

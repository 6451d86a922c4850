// Segments with member counts (from the writer's in-memory counts, not a scan) and paginated
// members (a bounded walk over the customers in key order with a stable cursor).
#include "cursor.hpp"
#include "ingest.hpp"
#include "query_context.hpp"
#include "segments.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

constexpr std::size_t default_limit = 100;
constexpr std::size_t max_limit = 1000;
// Customer rows one page may read: a page of a rare segment ends early with a cursor instead of
// holding the query thread over a million rows.
constexpr std::size_t scan_limit = 20'000;

}  // namespace

answer query_api::segments(const context& c) {
  if (!state_.pipeline) return c.fail(http::status::service_unavailable, "unavailable", "segment counts are not available");
  const auto counts = state_.pipeline->counts().load();
  const std::int64_t as_of = state_.pipeline->counts().committed_at_ms();
  const auto epoch = live_.load();
  json_writer w;
  w.begin_object().key("segments").begin_array();
  for (const auto& s : epoch->current->segments) {
    w.begin_object().field("name", s.name).field("tier", s.tier).field("query", s.query_text);
    w.field("members", counts->total(s.name)).key("by_shop").begin_object();
    if (auto it = counts->members.find(s.name); it != counts->members.end())
      for (const auto& [shop, n] : it->second) w.field(shop, n);
    w.end_object().end_object();
  }
  w.end_array().key("as_of");
  if (as_of > 0) w.value(shopify::format_timestamp_ms(as_of));
  else w.null();
  w.end_object();
  return c.ok(w.take());
}

answer query_api::members(const context& c) {
  const std::string& name = c.params[0];
  const auto epoch = live_.load();
  const config& cfg = *epoch->current;
  const bool known = std::any_of(cfg.segments.begin(), cfg.segments.end(), [&](const auto& s) { return s.name == name; });
  if (!known) return c.fail(http::status::not_found, "unknown_segment", "no segment of that name is configured");
  std::size_t limit = default_limit;
  if (auto l = c.arg("limit")) {
    auto v = parse_id(*l);
    if (!v || *v == 0 || *v > max_limit) return c.fail(http::status::bad_request, "bad_limit", "limit must be 1 to 1000");
    limit = static_cast<std::size_t>(*v);
  }
  std::optional<std::string> shop = c.arg("shop");
  if (shop && shop->empty()) shop.reset();
  std::optional<store::customer_key> after;
  if (auto a = c.arg("after"); a && !a->empty()) {
    after = decode_cursor(*a);
    if (!after || (shop && after->shop != *shop))
      return c.fail(http::status::bad_request, "bad_cursor", "after must be a cursor from a previous page of this listing");
  }
  auto page = reader_->segment_members(name, shop, after, limit, scan_limit);
  if (!page) return c.store_failure(page.error());
  json_writer w;
  w.begin_object().field("segment", name).key("members").begin_array();
  for (const auto& m : page->members) {
    const config& own = epoch->for_customer({m.shop, m.customer_id});
    w.begin_object().field("shop", m.shop).field("id", m.customer_id).field("email", m.email);
    w.field("tier", resolve_segments(own, m.segments).tier).end_object();
  }
  w.end_array().key("next");
  if (page->next) w.value(encode_cursor(*page->next));
  else w.null();
  w.end_object();
  return c.ok(w.take());
}

}  // namespace shopsegd

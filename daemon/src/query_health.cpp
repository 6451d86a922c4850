// /v1/health (JSON, 503 when degraded) and /metrics (Prometheus text). Both read counters
// (relaxed atomics), the writer's published segment counts and a few indexed store rows; no
// secret or customer detail appears in either, except the drift list of health (ids and
// figures only).
#include <algorithm>
#include <charconv>
#include <filesystem>

#include "change_notifier.hpp"
#include "ingest.hpp"
#include "query_context.hpp"
#include "shopify/money.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

constexpr int drift_listed = 20;

std::uint64_t store_bytes(const std::string& path) {
  std::uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto n = std::filesystem::file_size(path + suffix, ec);
    if (!ec) total += n;
  }
  return total;
}

struct silent_shop {
  std::string shop;
  std::int64_t last_event_at_ms;
  std::int64_t silent_minutes;
};

// Shops configured with silence_alert_minutes that had traffic and have been quiet longer.
std::vector<silent_shop> silent_shops(const config& cfg, const std::vector<store::shop_activity>& shops, std::int64_t now) {
  std::vector<silent_shop> out;
  for (const auto& s : shops) {
    const shop_config* configured = cfg.find_shop(s.shop);
    if (!configured || configured->silence_alert_minutes <= 0 || !s.active || !s.last_event_at_ms) continue;
    const std::int64_t quiet = (now - *s.last_event_at_ms) / 60'000;
    if (quiet >= configured->silence_alert_minutes) out.push_back({s.shop, *s.last_event_at_ms, quiet});
  }
  return out;
}

void render_drift(json_writer& w, const store::customer_view& c) {
  const int ours = shopify::currency_exponent(c.totals.currency);
  const int theirs = shopify::currency_exponent(c.shopify_currency.value_or(""));
  w.begin_object().field("shop", c.shop).field("customer_id", c.customer_id);
  w.field("amount_spent", shopify::format_money(c.totals.amount_spent_minor, ours));
  w.field("shopify_amount_spent", shopify::format_money(c.shopify_amount_spent_minor.value_or(0), theirs));
  w.field("number_of_orders", c.totals.number_of_orders).field("shopify_number_of_orders", c.shopify_number_of_orders);
  w.end_object();
}

void render_places(json_writer& w, const config& cfg, bool store_ok, const std::string& webhook_listen) {
  w.key("store").begin_object().field("ok", store_ok).field("path", cfg.store.path);
  w.field("size_bytes", store_bytes(cfg.store.path)).end_object();
  w.key("listeners").begin_object().field("webhook", webhook_listen);
  w.field("query_socket", cfg.query.socket).field("admin_socket", cfg.admin.socket).end_object();
}

std::optional<std::int64_t> last_event(const std::vector<store::shop_activity>& shops) {
  std::optional<std::int64_t> last;
  for (const auto& s : shops)
    if (s.last_event_at_ms && (!last || *s.last_event_at_ms > *last)) last = s.last_event_at_ms;
  return last;
}

}  // namespace

answer query_api::health(const context& c) {
  const std::int64_t now = state_.clock ? state_.clock() : now_ms();
  auto shops = reader_->shops();
  auto drift = shops ? reader_->drift(drift_listed) : store::result<std::vector<store::customer_view>>(shops.error());
  auto drift_count = drift ? reader_->drift_count() : store::result<std::int64_t>(drift.error());
  const bool store_ok = shops && drift && drift_count;
  const std::size_t depth = state_.pipeline ? state_.pipeline->depth() : 0;
  const auto epoch = live_.load();
  const auto silent = store_ok ? silent_shops(*epoch->current, *shops, now) : std::vector<silent_shop>();
  const bool degraded = !store_ok || !silent.empty() || depth >= cfg_.webhook.max_queue;
  json_writer w;
  w.begin_object().field("status", degraded ? "degraded" : "ok");
  render_places(w, cfg_, store_ok, state_.webhook_listen);
  const auto last = store_ok ? last_event(*shops) : std::nullopt;
  w.key("last_event_at");
  if (last) w.value(shopify::format_timestamp_ms(*last));
  else w.null();
  w.field("queue_depth", static_cast<std::uint64_t>(depth));
  // Lag: how long the oldest delivery waiting for the writer has waited (receptions are
  // stamped with the wall clock, unshifted).
  const auto oldest = state_.pipeline ? state_.pipeline->oldest_waiting_ms() : std::nullopt;
  w.field("lag_ms", oldest ? std::max<std::int64_t>(0, now_ms() - *oldest) : 0);
  w.key("silent_shops").begin_array();
  for (const auto& s : silent) {
    w.begin_object().field("shop", s.shop).field("last_event_at", shopify::format_timestamp_ms(s.last_event_at_ms));
    w.field("silent_minutes", s.silent_minutes).end_object();
  }
  w.end_array().key("drift").begin_array();
  if (store_ok)
    for (const auto& d : *drift) render_drift(w, d);
  w.end_array().field("drift_count", store_ok ? *drift_count : 0);
  w.key("reload").begin_object().field("running", state_.pipeline && state_.pipeline->reload_running()).end_object();
  w.end_object();
  return reply(degraded ? http::status::service_unavailable : http::status::ok, w.take(), c.req);
}

}  // namespace shopsegd

// Record -> JSON. Time zones are looked up once per name: date::locate_zone walks the tz
// database, too slow for every answer.
#include "render.hpp"

#include <date/tz.h>

#include <cstdio>
#include <map>
#include <mutex>

#include "rules/evaluate.hpp"
#include "segments.hpp"
#include "shopify/money.hpp"
#include "shopify/timestamp.hpp"

namespace shopsegd {
namespace {

const date::time_zone* zone(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, const date::time_zone*> cache;
  std::lock_guard lock(mutex);
  auto [it, fresh] = cache.try_emplace(name, nullptr);
  if (fresh) {
    try {
      it->second = date::locate_zone(name);
    } catch (const std::exception&) {
      it->second = date::locate_zone("UTC");
    }
  }
  return it->second;
}

std::string shop_timezone(const config& cfg, const std::string& shop) {
  auto* s = cfg.find_shop(shop);
  return s ? s->timezone : "UTC";
}

void optional_day(json_writer& w, std::string_view key, const std::optional<std::int64_t>& ms,
                  const std::string& tz) {
  w.key(key);
  if (ms) w.value(local_day(*ms, tz));
  else w.null();
}

void optional_time(json_writer& w, std::string_view key, const std::optional<std::int64_t>& ms) {
  w.key(key);
  if (ms) w.value(shopify::format_timestamp_ms(*ms));
  else w.null();
}

}  // namespace

std::string local_day(std::int64_t epoch_ms, const std::string& timezone) {
  using namespace std::chrono;
  auto instant = sys_time<milliseconds>(milliseconds(epoch_ms));
  auto local = date::make_zoned(zone(timezone), instant).get_local_time();
  // Formatted by hand: date::format builds a stream with its locale, snprintf parses its format
  // (~1,600 instructions), and every customer answer renders two days.
  const date::year_month_day ymd{date::floor<date::days>(local)};
  const int year = static_cast<int>(ymd.year());
  const auto month = static_cast<unsigned>(ymd.month()), day = static_cast<unsigned>(ymd.day());
  char out[32];
  if (year < 0 || year > 9999) {
    const int n = std::snprintf(out, sizeof out, "%04d-%02u-%02u", year, month, day);
    return std::string(out, static_cast<std::size_t>(n));
  }
  const auto digits = [](char* at, unsigned value, int width) {
    for (int i = width - 1; i >= 0; --i, value /= 10) at[i] = static_cast<char>('0' + value % 10);
  };
  digits(out, static_cast<unsigned>(year), 4);
  out[4] = '-';
  digits(out + 5, month, 2);
  out[7] = '-';
  digits(out + 8, day, 2);
  return std::string(out, 10);
}

void render_customer(json_writer& w, const store::customer_view& c, const config& cfg,
                     std::optional<std::int64_t> as_of_ms, const std::vector<std::string>& memberships) {
  const std::string tz = shop_timezone(cfg, c.shop);
  const auto& t = c.totals;
  const int exponent = shopify::currency_exponent(t.currency);
  w.begin_object();
  w.field("shop", c.shop).field("id", c.customer_id);
  w.field("email", c.email).field("phone", c.phone);
  w.field("first_name", c.first_name).field("last_name", c.last_name).field("state", c.state);
  optional_time(w, "created_at", c.created_at_ms);
  w.key("tags").begin_array();
  for (const auto& tag : c.tags) w.value(tag);
  w.end_array();
  w.field("amount_spent", shopify::format_money(t.amount_spent_minor, exponent));
  w.key("currency");
  if (t.currency.empty()) w.null();
  else w.value(t.currency);
  w.field("number_of_orders", t.number_of_orders);
  optional_day(w, "first_order_date", t.first_order_at_ms, tz);
  optional_day(w, "last_order_date", t.last_order_at_ms, tz);
  w.field("largest_order_amount", shopify::format_money(t.largest_order_minor, exponent));
  const customer_segments seg = resolve_segments(cfg, memberships);
  w.field("tier", seg.tier);
  w.key("segments").begin_array();
  for (const auto& name : seg.segments) w.value(name);
  w.end_array();
  w.key("service").begin_object();
  for (const auto& [k, literal] : seg.service) w.key(k).raw(literal);
  w.end_object();
  w.key("shopify_amount_spent");
  if (c.shopify_amount_spent_minor)
    w.value(shopify::format_money(*c.shopify_amount_spent_minor,
                                  shopify::currency_exponent(c.shopify_currency.value_or(""))));
  else
    w.null();
  w.field("shopify_number_of_orders", c.shopify_number_of_orders);
  optional_time(w, "as_of", as_of_ms);
  w.field("updated_at", shopify::format_timestamp_ms(c.updated_at_ms));
  w.end_object();
}

void render_order(json_writer& w, const store::order_view& v, const config& cfg) {
  const auto& o = v.order;
  const int exponent = shopify::currency_exponent(o.currency);
  w.begin_object();
  w.field("shop", v.shop).field("id", o.order_id).field("customer_id", o.customer_id);
  w.field("name", o.name);
  w.field("amount", shopify::format_money(o.net_amount_minor, exponent));
  w.field("currency", o.currency);
  w.field("test", o.test).field("cancelled", o.cancelled_at_ms.has_value());
  w.field("financial_status", o.financial_status);
  w.field("counts", v.counts).field("deleted", v.deleted);
  w.field("refunded", shopify::format_money(v.refunded_minor, exponent));
  w.field("updated_at", shopify::format_timestamp_ms(o.updated_at_ms));
  w.field("processed_at", shopify::format_timestamp_ms(o.processed_at_ms));
  w.field("processed_date", local_day(o.processed_at_ms, shop_timezone(cfg, v.shop)));
  // Order flags (SPEC §3) on the order's net amount; only an order that counts is flagged
  // (a test, cancelled or voided order needs no escalation).
  rules::customer_facts amount;
  amount.currency_exponent = exponent;
  amount.order_amount_minor = o.net_amount_minor;
  const order_flag_config* first = nullptr;
  w.key("flags").begin_array();
  for (const auto& flag : cfg.order_flags) {
    if (!v.counts || !flag.query || !rules::matches(*flag.query, amount, 0)) continue;
    if (!first) first = &flag;
    w.begin_object().field("name", flag.name).field("tag", flag.tag).field("escalate_to", flag.escalate_to);
    w.field("within_minutes", flag.within_minutes).end_object();
  }
  w.end_array();
  w.key("escalation");
  if (first) {
    w.begin_object().field("to", first->escalate_to).field("within_minutes", first->within_minutes);
    w.field("flag", first->name).end_object();
  } else {
    w.null();
  }
  w.end_object();
}

}  // namespace shopsegd

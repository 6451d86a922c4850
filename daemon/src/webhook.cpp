// Webhook admission. Verification runs over the raw body before anything parses it, so an
// unsigned request costs one HMAC per configured secret and nothing else.
#include "webhook.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "shopify/hmac.hpp"

namespace shopsegd {

std::string_view shopify_header(const http::fields& fields, std::string_view name) {
  // Beast compares field names case-insensitively. The prefixed name is built on the stack: a
  // delivery looks up six headers, and each was a heap string.
  constexpr std::string_view prefix = "X-Shopify-";
  std::array<char, 64> buffer;
  if (name.size() > buffer.size() - prefix.size()) return {};  // callers pass short literals
  std::copy(prefix.begin(), prefix.end(), buffer.begin());
  std::copy(name.begin(), name.end(), buffer.begin() + prefix.size());
  const std::string_view prefixed(buffer.data(), prefix.size() + name.size());
  if (auto it = fields.find(prefixed); it != fields.end()) return it->value();
  if (auto it = fields.find(prefixed.substr(2)); it != fields.end()) return it->value();
  return {};
}

std::optional<http::status> webhook_gate::check_head(const http::request_header<>& head) const {
  std::string_view target = head.target();
  if (auto q = target.find('?'); q != std::string_view::npos) target = target.substr(0, q);
  if (target != cfg_->webhook.path) return http::status::not_found;
  if (head.method() != http::verb::post) return http::status::method_not_allowed;
  if (auto it = head.find(http::field::content_length); it != head.end()) {
    std::uint64_t declared = 0;
    auto v = it->value();
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), declared);
    if (ec == std::errc{} && declared > cfg_->webhook.max_body_bytes)
      return http::status::payload_too_large;
  }
  return std::nullopt;
}

bool webhook_gate::verified(const http::request<http::string_body>& req) const {
  std::string_view signature = shopify_header(req, "Hmac-Sha256");
  if (signature.empty()) return false;
  if (shopify::verify_hmac(req.body(), signature, cfg_->webhook.secrets)) return true;
  if (auto* shop = cfg_->find_shop(shopify_header(req, "Shop-Domain")))
    return !shop->secrets.empty() && shopify::verify_hmac(req.body(), signature, shop->secrets);
  return false;
}

boost::system::result<delivery, http::status> webhook_gate::admit(
    http::request<http::string_body>&& req, shopify::decoder& decoder, std::int64_t now_ms) const {
  if (!verified(req)) return http::status::unauthorized;
  delivery d;
  d.topic_name = shopify_header(req, "Topic");
  d.shop = shopify_header(req, "Shop-Domain");
  d.webhook_id = shopify_header(req, "Webhook-Id");
  if (d.topic_name.empty() || d.shop.empty() || d.webhook_id.empty())
    return http::status::bad_request;
  const auto& allowed = cfg_->webhook.allowed_shops;
  if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), d.shop) == allowed.end())
    return http::status::forbidden;
  d.api_version = shopify_header(req, "API-Version");
  d.topic = shopify::topic_from_name(d.topic_name);
  d.received_at_ms = now_ms;
  auto decoded = decoder.decode(d.topic, req.body());
  if (decoded) d.event = std::move(*decoded);
  else d.quarantine_reason = decoded.error().reason;
  // The writer needs the raw body only to quarantine it or to keep it (retention). Otherwise it
  // stays in the request and is freed here, on the thread that allocated it: a 7 KB block freed
  // on the writer's thread went back to this thread's arena under its lock.
  if (!d.event || cfg_->store.keep_raw_bodies_days > 0) d.body = std::move(req.body());
  return d;
}

}  // namespace shopsegd

namespace boost::beast::http {
void throw_exception_from_error(status s, const boost::source_location&) {
  throw std::logic_error("unexpected HTTP status " + std::to_string(static_cast<int>(s)));
}
}  // namespace boost::beast::http

// The webhook endpoint's decisions, free of sockets: which answer a request gets before the
// writer sees it (SPEC §1 order: 404/405, 413, 401, 400, 403), and the delivery it becomes.
#pragma once

#include <boost/beast/http.hpp>
#include <boost/system/result.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "config.hpp"
#include "shopify/decode.hpp"

namespace shopsegd {

namespace http = boost::beast::http;

// A verified delivery on its way to the writer.
struct delivery {
  std::string shop;
  std::string webhook_id;
  std::string topic_name;
  std::string api_version;
  shopify::topic topic = shopify::topic::unknown;
  std::int64_t received_at_ms = 0;
  // The raw body, only when the writer needs it: the event did not decode (quarantine) or
  // store.keep_raw_bodies_days keeps bodies. Empty otherwise.
  std::string body;
  // The decoded event, or why it could not be decoded (then it goes to quarantine).
  std::optional<shopify::event> event;
  std::string quarantine_reason;
};

// One of the Shopify headers, with or without the "X-" prefix, case-insensitively. `name`
// ("Topic", "Hmac-Sha256", ...) is at most 54 characters; a longer one is never found.
std::string_view shopify_header(const http::fields& fields, std::string_view name);

class webhook_gate {
 public:
  explicit webhook_gate(const config& cfg) : cfg_(&cfg) {}

  // Decided from the request head alone: 404 (other path), 405 (other method), 413 (declared
  // body over max_body_bytes). nullopt: read the body.
  std::optional<http::status> check_head(const http::request_header<>& head) const;

  // Decided once the body is read: 401 (HMAC), 400 (required header missing), 403 (shop not
  // allowed); otherwise the delivery with its event decoded (or its quarantine reason).
  // `decoder` is the calling thread's.
  boost::system::result<delivery, http::status> admit(http::request<http::string_body>&& req,
                                                      shopify::decoder& decoder,
                                                      std::int64_t now_ms) const;

 private:
  bool verified(const http::request<http::string_body>& req) const;
  const config* cfg_;
};

}  // namespace shopsegd

namespace boost::beast::http {
[[noreturn]] void throw_exception_from_error(status s, const boost::source_location& loc);
}

// The webhook listener's request path: bytes of one or more pipelined requests -> the answers
// the gate gives (check_head on the head, then admit with the body), with the limits and the
// parser settings of the session in listeners.cpp. The first byte's low bit asks the harness
// to sign the body with the configured secret, so the decoders behind the HMAC check are
// reached too (a fuzzer cannot forge HMACs).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http_input.hpp"
#include "shopify/hmac.hpp"
#include "webhook.hpp"

namespace {

const shopsegd::config& fuzz_config() {
  static const shopsegd::config cfg =
      shopsegd::parse_config(
          "[webhook]\nsecrets = [\"fuzz-secret\", \"old-secret\"]\nmax_body_bytes = 65536\n"
          "max_header_bytes = 8192\n"
          "[[shop]]\ndomain = \"hot-rod-an.myshopify.com\"\nsecrets = [\"shop-key\"]\n",
          "fuzz.toml")
          .value();
  return cfg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool sign = data[0] & 1;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto& cfg = fuzz_config();
  static const shopsegd::webhook_gate gate(cfg);
  static shopify::decoder decoder;
  for (int requests = 0; requests < 8 && !in.empty(); ++requests) {
    fuzzing::http::request_parser<fuzzing::http::string_body> parser;
    parser.header_limit(cfg.webhook.max_header_bytes);
    parser.body_limit(boost::none);
    if (!fuzzing::put_head(parser, in)) return 0;
    if (gate.check_head(parser.get())) return 0;  // answered; the session closes
    parser.body_limit(cfg.webhook.max_body_bytes);
    if (!fuzzing::put_body(parser, in)) return 0;
    const bool keep_alive = parser.get().keep_alive();
    auto req = parser.release();
    if (sign) req.set("X-Shopify-Hmac-Sha256", shopify::sign_hmac(req.body(), "fuzz-secret"));
    auto admitted = gate.admit(std::move(req), decoder, 1767225600000);
    if (!keep_alive) return 0;
  }
  return 0;
}

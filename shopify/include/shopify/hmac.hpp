// HMAC-SHA256 verification of Shopify webhook bodies.
//
// Shopify signs the raw request body with the app's client secret (or a shop's store-level
// signing key) and sends base64(HMAC-SHA256(secret, body)) in X-Shopify-Hmac-Sha256. This is
// checked before anything looks at the body.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace shopify {

// True when `header_base64` is the base64 HMAC-SHA256 of `body` under any of `secrets`.
// Every secret is tried and every comparison is constant-time in the digest, so timing does not
// reveal which secret matched or how many leading bytes were right. A header that is not
// valid base64 of exactly 32 bytes is false. Thread-safe.
bool verify_hmac(std::string_view body, std::string_view header_base64,
                 std::span<const std::string> secrets) noexcept;

// base64(HMAC-SHA256(secret, body)): what Shopify sends. Used by tests, the sample-delivery
// script's C++ twin and the load generator.
std::string sign_hmac(std::string_view body, std::string_view secret);

}  // namespace shopify

// HMAC-SHA256 webhook verification: OpenSSL for the digest, a strict base64 decoder for the
// header, and a constant-time comparison against every configured secret.
#include "shopify/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace shopify {
namespace {

constexpr std::size_t digest_size = 32;
using digest = std::array<unsigned char, digest_size>;

// HMAC-SHA256 contexts of this thread, one per secret, each holding its secret's inner and
// outer hash states. HMAC() fetched the algorithm, created a context and hashed the padded key
// again for every delivery; a kept context only restarts from the precomputed states.
class hmac_contexts {
 public:
  ~hmac_contexts() { clear(); }
  // The context for `key`, restarted; nullptr when OpenSSL fails.
  EVP_MAC_CTX* restarted(std::string_view key) noexcept {
    for (auto& [secret, ctx] : kept_)
      if (secret == key) return EVP_MAC_init(ctx, nullptr, 0, nullptr) == 1 ? ctx : nullptr;
    try {
      if (kept_.size() >= max_kept) clear();  // secrets rotated many times: start over
      EVP_MAC_CTX* ctx = keyed(key);
      if (ctx) kept_.emplace_back(std::string(key), ctx);
      return ctx;
    } catch (...) {
      return nullptr;
    }
  }

 private:
  static constexpr std::size_t max_kept = 16;
  static EVP_MAC_CTX* keyed(std::string_view key) noexcept {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (!mac) return nullptr;
    EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
    if (!ctx) return nullptr;
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest_name, 0), OSSL_PARAM_construct_end()};
    // A null key pointer is refused even with length 0.
    static const unsigned char empty = 0;
    const auto* key_data = key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(ctx, key_data, key.size(), params) != 1) {
      EVP_MAC_CTX_free(ctx);
      return nullptr;
    }
    return ctx;
  }
  void clear() noexcept {
    for (auto& [secret, ctx] : kept_) {
      OPENSSL_cleanse(secret.data(), secret.size());
      EVP_MAC_CTX_free(ctx);
    }
    kept_.clear();
  }
  std::vector<std::pair<std::string, EVP_MAC_CTX*>> kept_;
};

std::optional<digest> hmac_sha256(std::string_view key, std::string_view body) noexcept {
  thread_local hmac_contexts contexts;
  EVP_MAC_CTX* ctx = contexts.restarted(key);
  if (!ctx) return std::nullopt;
  digest out{};
  std::size_t length = 0;
  static const unsigned char empty = 0;
  const auto* data = body.empty() ? &empty : reinterpret_cast<const unsigned char*>(body.data());
  if (EVP_MAC_update(ctx, data, body.size()) != 1 || EVP_MAC_final(ctx, out.data(), &length, out.size()) != 1 ||
      length != digest_size) {
    return std::nullopt;
  }
  return out;
}

int base64_value(char c) noexcept {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes standard padded base64 of exactly 32 bytes (44 characters, one '=' at the end).
// Hand-written because EVP_DecodeBlock neither reports padding nor rejects stray characters.
std::optional<digest> decode_digest(std::string_view text) noexcept {
  if (text.size() != 44 || text[43] != '=') return std::nullopt;
  digest out{};
  std::uint32_t bits = 0;
  int bit_count = 0;
  std::size_t written = 0;
  for (std::size_t i = 0; i < 43; ++i) {
    const int value = base64_value(text[i]);
    if (value < 0) return std::nullopt;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      if (written == digest_size) return std::nullopt;
      out[written++] = static_cast<unsigned char>((bits >> bit_count) & 0xFFu);
    }
  }
  // 43 characters carry 258 bits: the 2 left over must be zero in canonical base64.
  if (written != digest_size || (bits & ((1u << bit_count) - 1u)) != 0) return std::nullopt;
  return out;
}

std::string encode_base64(const digest& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                     static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

}  // namespace

bool verify_hmac(std::string_view body, std::string_view header_base64,
                 std::span<const std::string> secrets) noexcept {
  const auto expected = decode_digest(header_base64);
  if (!expected) return false;
  // No early exit: every secret costs the same, whichever (if any) matches.
  bool matched = false;
  for (const std::string& secret : secrets) {
    const auto actual = hmac_sha256(secret, body);
    if (!actual) continue;
    const bool equal = CRYPTO_memcmp(actual->data(), expected->data(), digest_size) == 0;
    matched = matched | equal;
  }
  return matched;
}

std::string sign_hmac(std::string_view body, std::string_view secret) {
  const auto mac = hmac_sha256(secret, body);
  if (!mac) return {};
  return encode_base64(*mac);
}

}  // namespace shopify

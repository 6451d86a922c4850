// HMAC-SHA256 webhook verification: OpenSSL for the digest, a strict base64 decoder for the
// header, and a constant-time comparison against every configured secret.
#include "shopify/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdint>
#include <optional>

namespace shopify {
namespace {

constexpr std::size_t digest_size = 32;
using digest = std::array<unsigned char, digest_size>;

std::optional<digest> hmac_sha256(std::string_view key, std::string_view body) noexcept {
  digest out{};
  unsigned int length = 0;
  // HMAC() rejects a null key pointer on some OpenSSL versions even with length 0.
  static const unsigned char empty = 0;
  const void* key_data = key.empty() ? static_cast<const void*>(&empty) : key.data();
  const auto* data = reinterpret_cast<const unsigned char*>(body.data());
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), body.empty() ? &empty : data,
           body.size(), out.data(), &length) == nullptr ||
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

// HMAC-SHA256 verification against RFC 4231 vectors (base64-encoded as Shopify sends them).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "shopify/hmac.hpp"

using shopify::sign_hmac;
using shopify::verify_hmac;

namespace {

struct vector_case {
  std::string key;
  std::string body;
  std::string base64;
};

// RFC 4231 test cases 1, 2 and 6 (a key longer than the hash's block), plus the empty key and body.
const std::vector<vector_case> known_vectors{
    {std::string(20, '\x0b'), "Hi There", "sDRMYdjbOFNcqK/OrwvxK4gdwgDJgz2nJuk3bC4yz/c="},
    {std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First", "YOQxWR7gtn8Niiaqy/W3f44LxiE3KMUUBUYEDw7jf1Q="},
    {"Jefe", "what do ya want for nothing?", "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="},
    {"", "", "thNnmggU2ex3L5XXeMNfxf8Wl8STcVZTxscSFEKSxa0="},
};

}  // namespace

TEST_CASE("sign_hmac matches RFC 4231 vectors") {
  for (const auto& v : known_vectors) {
    CHECK(sign_hmac(v.body, v.key) == v.base64);
    const std::vector<std::string> secrets{v.key};
    CHECK(verify_hmac(v.body, v.base64, secrets));
  }
}

TEST_CASE("verify_hmac tries every secret") {
  const std::string body = R"({"id":1})";
  const std::string header = sign_hmac(body, "new-secret");
  const std::vector<std::string> rotated{"old-secret", "new-secret"};
  CHECK(verify_hmac(body, header, rotated));
  const std::vector<std::string> reversed{"new-secret", "old-secret"};
  CHECK(verify_hmac(body, header, reversed));
  const std::vector<std::string> wrong{"old-secret", "other"};
  CHECK_FALSE(verify_hmac(body, header, wrong));
  CHECK_FALSE(verify_hmac(body, header, std::vector<std::string>{}));
}

TEST_CASE("verify_hmac rejects a changed body") {
  const std::vector<std::string> secrets{"s"};
  const std::string header = sign_hmac("body", "s");
  CHECK_FALSE(verify_hmac("body ", header, secrets));
  CHECK_FALSE(verify_hmac("", header, secrets));
}

TEST_CASE("verify_hmac rejects headers that are not base64 of 32 bytes") {
  const std::vector<std::string> secrets{"Jefe"};
  const std::string body = "what do ya want for nothing?";
  const std::string good = "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=";
  const std::vector<std::string> bad_headers{
      "",
      good.substr(0, 43),                            // padding missing
      good + "=",                                    // too long
      "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEN=",  // non-zero trailing bits
      "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsO!M=",  // not base64
      "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOE==",  // 31 bytes
      " " + good.substr(1),
      "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM",  // no padding
  };
  for (const auto& header : bad_headers) {
    CAPTURE(header);
    CHECK_FALSE(verify_hmac(body, header, secrets));
  }
  CHECK(verify_hmac(body, good, secrets));
}

TEST_CASE("sign and verify roundtrip over binary bodies") {
  std::string body;
  for (int i = 0; i < 256; ++i) body.push_back(static_cast<char>(i));
  const std::vector<std::string> secrets{std::string("k\0ey", 4)};
  CHECK(verify_hmac(body, sign_hmac(body, secrets[0]), secrets));
  CHECK(sign_hmac(body, secrets[0]).size() == 44);
}

TEST_CASE("verification stays right however many secrets come and go on one thread") {
  // Each thread keeps one prepared context per secret (and starts over beyond sixteen).
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 40; ++i) {
      const std::string secret = "secret-" + std::to_string(i);
      const std::string body = "body " + std::to_string(i * 7 + round);
      const std::vector<std::string> secrets{"other", secret};
      CHECK(verify_hmac(body, sign_hmac(body, secret), secrets));
      CHECK_FALSE(verify_hmac(body + "x", sign_hmac(body, secret), secrets));
      CHECK_FALSE(verify_hmac(body, sign_hmac(body, secret + "x"), secrets));
    }
  }
}

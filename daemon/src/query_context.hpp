// One request being answered: its path parameters and query arguments, and the answers every
// handler gives the same way. Store failures map to HTTP status in one place (store_failure);
// a 500 or 503 body never shows internals.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "json.hpp"
#include "query_api.hpp"
#include "store/reader.hpp"

namespace shopsegd {

response reply(http::status status, std::string body, const request& req,
               std::string_view content_type = "application/json");
response reply(http::status status, std::string body, unsigned version, bool keep_alive,
               std::string_view content_type = "application/json");

// An unsigned decimal (ids, sequence numbers, limits); nullopt for anything else.
std::optional<std::uint64_t> parse_id(std::string_view s);

struct query_api::context {
  const request& req;
  std::vector<std::string> params;  // path segments matched by "{}"
  std::vector<std::pair<std::string, std::string>> query;
  bool deadline_passed = false;

  std::optional<std::string> arg(std::string_view name) const {
    for (const auto& [k, v] : query)
      if (k == name) return v;
    return std::nullopt;
  }
  response ok(std::string body) const { return reply(http::status::ok, std::move(body), req); }
  response fail(http::status s, std::string_view code, std::string_view message) const {
    return reply(s, error_json(code, message), req);
  }
  // The one place a store error becomes an HTTP answer.
  response store_failure(const boost::system::error_code&) const {
    return fail(http::status::service_unavailable, "store_unavailable", "the store could not answer; retry shortly");
  }
};

// Ends the reader's snapshot however a handler returns.
struct snapshot {
  store::reader& r;
  ~snapshot() { r.end(); }
};

}  // namespace shopsegd

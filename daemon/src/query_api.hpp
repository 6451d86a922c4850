// The query API of SPEC §4 as a pure function: (request, caller's rights) -> response. The
// transport (a Unix-socket session) only reads, calls handle(), and writes. Routes are a table.
#pragma once

#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "live_config.hpp"
#include "store/reader.hpp"

namespace shopsegd {

namespace http = boost::beast::http;

enum class access { query, admin };

// What the API reads besides the store: live daemon state for /v1/health.
struct daemon_state {
  std::function<std::size_t()> queue_depth;
  // Re-reads the config file and, when it is valid, starts a reload; returns the errors of an
  // invalid one (then the running configuration stays).
  std::function<std::vector<std::string>()> reload;
};

class query_api {
 public:
  // `reader` is owned by the calling thread's API instance: one query_api per query thread.
  // `cfg` is the start-up configuration; segments, order flags and services come from `live`.
  query_api(const config& cfg, const live_config& live, std::unique_ptr<store::reader> reader, daemon_state state);

  http::response<http::string_body> handle(const http::request<http::string_body>& req,
                                           access rights);

 private:
  struct route;
  struct context;
  http::response<http::string_body> dispatch(const http::request<http::string_body>& req,
                                             access rights);
  http::response<http::string_body> customer(const context& c);
  http::response<http::string_body> customers_by_email(const context& c);
  http::response<http::string_body> explain(const context& c);
  http::response<http::string_body> changes(const context& c);
  http::response<http::string_body> order(const context& c);
  http::response<http::string_body> quarantine(const context& c);
  http::response<http::string_body> health(const context& c);
  http::response<http::string_body> reload(const context& c);

  const config& cfg_;
  const live_config& live_;
  std::unique_ptr<store::reader> reader_;
  daemon_state state_;
};

}  // namespace shopsegd

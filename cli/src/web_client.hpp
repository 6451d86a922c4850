// HTTP/1.1 over TCP, with TLS for https:// (OpenSSL: the system's trust store, SNI, host name
// verification): the client's only way to a shop's Admin API, for `shopseg backfill`. One
// request per connection; a deadline bounds each whole request. http:// is allowed for a
// local stand-in of the API (tests), never needed against Shopify.
#pragma once

#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace shopseg {

struct url_parts {
  bool tls = true;
  std::string host;
  std::string port;
  std::string target;  // path and query
};

// "https://host[:port]/path?query"; errors for anything else.
boost::system::result<url_parts> parse_url(const std::string& url);

struct web_reply {
  unsigned status = 0;
  std::string body;
  std::string retry_after;  // the Retry-After header, if any
};

// Sends one request and reads the whole answer (at most `max_body` bytes).
boost::system::result<web_reply> web_request(boost::beast::http::verb method, const std::string& url,
                                             const std::vector<std::pair<std::string, std::string>>& headers,
                                             const std::string& body, std::chrono::seconds timeout,
                                             std::uint64_t max_body = 16 * 1024 * 1024);

// GETs `url` into the file `path`, calling progress(bytes so far, total or 0) as it goes.
boost::system::result<unsigned> web_download(const std::string& url, const std::string& path,
                                             std::chrono::seconds timeout,
                                             const std::function<void(std::uint64_t, std::uint64_t)>& progress);

}  // namespace shopseg

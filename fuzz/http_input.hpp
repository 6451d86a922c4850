// Feeds fuzz input to Beast's request_parser the way a session reads a socket that then
// closes: head first (so the caller can judge it, as the webhook session does before reading
// the body), then the body, then end of stream. Pipelined requests follow one another.
#pragma once
#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <string_view>

namespace fuzzing {

namespace http = boost::beast::http;

// Gives the head to the parser; false when the bytes end inside it or it is invalid (the
// session would wait for more, then time out, or close).
inline bool put_head(http::request_parser<http::string_body>& p, std::string_view& in) {
  boost::beast::error_code ec;
  p.eager(false);
  const auto used = p.put(boost::asio::const_buffer(in.data(), in.size()), ec);
  if (ec || !p.is_header_done()) return false;
  in.remove_prefix(used);
  return true;
}

// Gives the body to the parser; end of stream when the bytes run out. False for an invalid or
// incomplete body (a limit included).
inline bool put_body(http::request_parser<http::string_body>& p, std::string_view& in) {
  boost::beast::error_code ec;
  p.eager(true);
  while (!p.is_done()) {
    const auto used = p.put(boost::asio::const_buffer(in.data(), in.size()), ec);
    in.remove_prefix(used);
    if (ec == http::error::need_more || (!ec && used == 0)) {
      if (!in.empty() && used > 0) continue;
      // The parser wants more than is left: the peer closed.
      ec = {};
      p.put_eof(ec);
      return !ec && p.is_done();
    }
    if (ec) return false;
  }
  return true;
}

}  // namespace fuzzing

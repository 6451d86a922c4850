// HTTP/1.1 over one Unix-domain socket of shopsegd: the client's only way to the daemon.
// One connection, kept while the daemon keeps it alive (pagination and the change-log follow
// reuse it), and a deadline on every request.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <string>
#include <string_view>

namespace shopseg {

// A complete answer of the daemon: status code and body, whatever the status.
struct reply {
  unsigned status = 0;
  std::string body;
};

class socket_client {
 public:
  explicit socket_client(std::string path) : path_(std::move(path)) {}
  socket_client(const socket_client&) = delete;
  socket_client& operator=(const socket_client&) = delete;

  const std::string& path() const { return path_; }

  // Sends one request (no body) and reads the whole answer. Errors are the socket's: the
  // connect errno (no such file, connection refused, permission denied), end of stream or a
  // reset when the daemon goes away, timed_out when no complete answer arrives in `timeout`.
  // A GET that fails on a reused connection (the daemon closed it while idle) is retried
  // once on a fresh one; other methods are never sent twice.
  // `body` (may be empty) is sent as application/x-ndjson (import chunks).
  boost::system::result<reply> request(boost::beast::http::verb method, const std::string& target,
                                       std::chrono::seconds timeout, std::string_view body = {});

 private:
  boost::system::error_code connect();
  boost::system::result<reply> exchange(boost::beast::http::verb method, const std::string& target,
                                        std::chrono::seconds timeout, std::string_view body);
  void close();

  std::string path_;
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
};

// Percent-encodes one path segment or query value (everything but RFC 3986 unreserved
// characters), so that '+', '@', '/' and '&' reach the daemon as written.
std::string percent_encode(std::string_view text);

}  // namespace shopseg

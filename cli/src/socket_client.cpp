// Synchronous in effect, asynchronous inside: the operations run on a private io_context with
// run_for, which is how a blocking client gets a deadline without SO_RCVTIMEO (Asio's
// blocking reads retry on EAGAIN and would ignore it).
#include "socket_client.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/optional.hpp>

namespace shopseg {
namespace {

namespace http = boost::beast::http;
using boost::system::error_code;

// An export holds everything about one customer: far more than Beast's 8 MiB default.
constexpr std::uint64_t max_answer_bytes = 1ull << 30;

bool lost_connection(const error_code& ec) {
  return ec == boost::asio::error::eof || ec == http::error::end_of_stream ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe ||
         ec == http::error::partial_message;
}

}  // namespace

boost::system::result<reply> socket_client::request(http::verb method, const std::string& target,
                                                    std::chrono::seconds timeout, std::string_view body) {
  const bool reused = socket_.is_open();
  if (!reused) {
    if (auto ec = connect()) return ec;
  }
  auto answer = exchange(method, target, timeout, body);
  if (!answer && reused && method == http::verb::get && lost_connection(answer.error())) {
    if (auto ec = connect()) return ec;
    answer = exchange(method, target, timeout, body);
  }
  return answer;
}

error_code socket_client::connect() {
  close();
  error_code ec;
  socket_.connect(boost::asio::local::stream_protocol::endpoint(path_), ec);
  if (ec) close();
  return ec;
}

void socket_client::close() {
  error_code ignored;
  socket_.close(ignored);
  buffer_.clear();
}

boost::system::result<reply> socket_client::exchange(http::verb method, const std::string& target,
                                                     std::chrono::seconds timeout, std::string_view body) {
  http::request<http::string_body> req{method, target, 11};
  if (!body.empty()) {
    req.set(http::field::content_type, "application/x-ndjson");
    req.body() = std::string(body);
  }
  req.set(http::field::host, "shopseg");
  req.set(http::field::user_agent, "shopseg/" SHOPSEG_VERSION);
  req.set(http::field::accept, "application/json");
  req.keep_alive(true);
  req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_answer_bytes);

  bool finished = false;
  error_code result;
  http::async_write(socket_, req, [&](error_code ec, std::size_t) {
    if (ec) {
      result = ec;
      finished = true;
      return;
    }
    http::async_read(socket_, buffer_, parser, [&](error_code ec, std::size_t) {
      result = ec;
      finished = true;
    });
  });
  io_.restart();
  io_.run_for(timeout);
  if (!finished) {
    close();  // cancels the pending operation; its handler runs below
    io_.restart();
    io_.run();
    result = boost::asio::error::timed_out;
  }
  if (result) {
    close();
    return result;
  }
  auto res = parser.release();
  if (!res.keep_alive()) close();
  return reply{res.result_int(), std::move(res.body())};
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace shopseg

// Coroutines on a private io_context run with a deadline (run_for), as socket_client does.
#include "web_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fstream>

namespace shopseg {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// One exchange on a connected stream: write the request, read the head, then the body in
// pieces handed to `sink`.
template <class Stream>
asio::awaitable<web_reply> exchange(Stream& stream, const http::request<http::string_body>& req,
                                    std::uint64_t max_body,
                                    const std::function<void(std::string_view, std::uint64_t)>& sink) {
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(max_body);
  co_await http::async_read_header(stream, buffer, parser, asio::use_awaitable);
  web_reply reply;
  reply.status = parser.get().result_int();
  if (auto it = parser.get().find(http::field::retry_after); it != parser.get().end())
    reply.retry_after = std::string(it->value());
  const std::uint64_t total = parser.content_length().value_or(0);
  std::vector<char> piece(64 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec && ec != http::error::need_buffer) throw boost::system::system_error(ec);
    sink(std::string_view(piece.data(), piece.size() - parser.get().body().size), total);
  }
  co_return reply;
}

asio::awaitable<web_reply> run(url_parts url, http::request<http::string_body> req, std::uint64_t max_body,
                               std::function<void(std::string_view, std::uint64_t)> sink) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  if (!url.tls) {
    beast::tcp_stream stream(ex);
    co_await stream.async_connect(endpoints, asio::use_awaitable);
    co_return co_await exchange(stream, req, max_body, sink);
  }
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(ex, ctx);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
    throw boost::system::system_error(error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
  co_await stream.async_handshake(ssl::stream_base::client, asio::use_awaitable);
  co_return co_await exchange(stream, req, max_body, sink);
}

boost::system::result<web_reply> perform(http::verb method, const std::string& url_text,
                                         const std::vector<std::pair<std::string, std::string>>& headers,
                                         const std::string& body, std::chrono::seconds timeout, std::uint64_t max_body,
                                         std::function<void(std::string_view, std::uint64_t)> sink) {
  auto url = parse_url(url_text);
  if (!url) return url.error();
  http::request<http::string_body> req{method, url->target, 11};
  req.set(http::field::host, url->host);
  req.set(http::field::user_agent, "shopseg/" SHOPSEG_VERSION);
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty() || method == http::verb::post) req.body() = body;
  req.prepare_payload();
  asio::io_context io;
  std::optional<boost::system::result<web_reply>> outcome;
  asio::co_spawn(io, run(*url, std::move(req), max_body, std::move(sink)),
                 [&](std::exception_ptr e, web_reply reply) {
                   if (!e) return void(outcome = std::move(reply));
                   try {
                     std::rethrow_exception(e);
                   } catch (const boost::system::system_error& error) {
                     outcome = error.code();
                   } catch (...) {
                     outcome = error_code(asio::error::fault);
                   }
                 });
  io.run_for(timeout);
  if (!outcome) return error_code(asio::error::timed_out);
  return *outcome;
}

}  // namespace

boost::system::result<url_parts> parse_url(const std::string& url) {
  url_parts parts;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    parts.tls = false;
    rest.remove_prefix(7);
  } else {
    return error_code(boost::system::errc::invalid_argument, boost::system::generic_category());
  }
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  parts.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  const std::size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    parts.host = std::string(authority.substr(0, colon));
    parts.port = std::string(authority.substr(colon + 1));
  } else {
    parts.host = std::string(authority);
    parts.port = parts.tls ? "443" : "80";
  }
  if (parts.host.empty()) return error_code(boost::system::errc::invalid_argument, boost::system::generic_category());
  return parts;
}

boost::system::result<web_reply> web_request(http::verb method, const std::string& url,
                                             const std::vector<std::pair<std::string, std::string>>& headers,
                                             const std::string& body, std::chrono::seconds timeout,
                                             std::uint64_t max_body) {
  std::string collected;
  auto reply = perform(method, url, headers, body, timeout, max_body,
                       [&collected](std::string_view piece, std::uint64_t) { collected.append(piece); });
  if (reply) reply->body = std::move(collected);
  return reply;
}

boost::system::result<unsigned> web_download(const std::string& url, const std::string& path,
                                             std::chrono::seconds timeout,
                                             const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return error_code(errno, boost::system::generic_category());
  std::uint64_t written = 0;
  auto reply = perform(http::verb::get, url, {}, "", timeout, std::uint64_t(1) << 40,
                       [&](std::string_view piece, std::uint64_t total) {
                         out.write(piece.data(), static_cast<std::streamsize>(piece.size()));
                         written += piece.size();
                         progress(written, total);
                       });
  out.close();
  if (!reply) return reply.error();
  if (!out) return error_code(boost::system::errc::io_error, boost::system::generic_category());
  return reply->status;
}

}  // namespace shopseg

// Binding the listeners, and the webhook side: its accept loop and sessions (the query socket's
// are in query_sessions.cpp). Sessions own their stream by value; every read and write runs
// under a deadline (beast::basic_stream::expires_after), so a slow client is cut off and never
// holds the daemon.
#include "listeners.hpp"

#include "session_support.hpp"

#include <grp.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <sstream>

namespace shopsegd {
namespace {

namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;
using response = http::response<http::string_body>;
constexpr std::size_t max_read_chunk = 64 * 1024;    // largest single recv into a session buffer
constexpr std::size_t idle_buffer_limit = 16 * 1024;  // kept by a connection between requests

response plain(http::status status, unsigned version, bool keep_alive) {
  response res{status, version};
  res.set(http::field::server, "shopsegd");
  res.set(http::field::content_type, "text/plain");
  res.body() = std::string(http::obsolete_reason(status)) + "\n";
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// What the webhook endpoint answers: a plain() response, and Retry-After when it is a 503 of
// a full queue. Every answer is one of a handful, so each is serialized once per thread and
// then written as bytes: building and serializing a Beast response allocated every header
// field and walked Beast's buffer sequences for each delivery.
struct answer {
  http::status status = http::status::ok;
  unsigned version = 11;
  bool keep_alive = false;
  bool retry_after = false;
  auto operator<=>(const answer&) const = default;
};

answer plain_answer(http::status status, unsigned version, bool keep_alive) {
  return {status, version, keep_alive, false};
}

// The bytes of an answer. They stay where they are for the thread's life (a map's nodes do not
// move), so a write in flight may point at them while other sessions add answers. At most a
// few thousand (HTTP versions are two digits, and the statuses a handful).
const std::string& wire(const answer& a) {
  thread_local std::map<answer, std::string> serialized;
  auto [at, added] = serialized.try_emplace(a);
  if (added) {
    response res = plain(a.status, a.version, a.keep_alive);
    if (a.retry_after) res.set(http::field::retry_after, "5");
    std::ostringstream out;
    out << res;
    at->second = std::move(out).str();
  }
  return at->second;
}

http::status status_of(std::optional<ingest_status> s) {
  if (!s) return http::status::service_unavailable;
  switch (*s) {
    case ingest_status::committed:
    case ingest_status::duplicate:
    case ingest_status::quarantined: return http::status::ok;
    case ingest_status::storage_full:
    case ingest_status::failed:
    case ingest_status::not_found: return http::status::service_unavailable;
  }
  return http::status::service_unavailable;
}

// The log line of a delivery's outcome: webhook id, topic, shop, outcome, status and latency,
// never the body or a customer field. Stored outcomes (committed, duplicate) are info, so the
// shipped config logs each delivery; the rest are warn. The ids are copied into an inline
// buffer (no allocation) and only when a line can be written: at level warn or above (the
// ingest bench) a committed delivery costs a level check and nothing else.
class outcome_line {
 public:
  outcome_line(std::string_view id, std::string_view topic, std::string_view shop,
               spdlog::level::level_enum least) {
    if (!spdlog::should_log(least)) return;
    // The ids of a refused request are as it claims them, unverified: bounded.
    fmt::format_to(std::back_inserter(ids_), "webhook {:.100} topic={:.100} shop={:.100}", id, topic, shop);
  }
  void write(spdlog::level::level_enum level, std::string_view outcome, http::status status,
             std::chrono::steady_clock::time_point started) const {
    if (ids_.size() == 0 || !spdlog::should_log(level)) return;
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started).count();
    spdlog::log(level, "{} outcome={} status={} latency_us={}", std::string_view(ids_.data(), ids_.size()),
                outcome, static_cast<unsigned>(status), micros);
  }

 private:
  fmt::basic_memory_buffer<char, 160> ids_;
};

std::string_view refusal_name(http::status s) {
  switch (s) {
    case http::status::unauthorized: return "unauthorized";  // HMAC verification failed
    case http::status::bad_request: return "bad_request";
    case http::status::forbidden: return "forbidden";
    case http::status::payload_too_large: return "too_large";
    default: return "refused";
  }
}

outcome_line claimed_ids(const http::fields& head) {
  return outcome_line(shopify_header(head, "Webhook-Id"), shopify_header(head, "Topic"),
                      shopify_header(head, "Shop-Domain"), spdlog::level::warn);
}

// Reads one request, or answers and closes on a limit. Returns the answer to send.
asio::awaitable<answer> answer_webhook(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                       webhook_context& ctx, bool& keep_open) {
  const auto& w = ctx.cfg.webhook;
  http::request_parser<http::string_body> parser;
  parser.header_limit(w.max_header_bytes);
  // Beast checks a declared Content-Length against body_limit while parsing the head, which
  // would end the read with an error instead of the answers check_head gives in their order
  // (404/405 before 413); the limit is set once the head is judged (it bounds chunked bodies).
  parser.body_limit(boost::none);
  keep_open = false;
  auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
  if (ec == http::error::header_limit)
    co_return plain_answer(http::status::request_header_fields_too_large, 11, false);
  if (ec) throw boost::system::system_error(ec);
  const unsigned version = parser.get().version();
  if (auto early = ctx.gate.check_head(parser.get())) {
    if (*early == http::status::payload_too_large)
      claimed_ids(parser.get()).write(spdlog::level::warn, refusal_name(*early), *early, std::chrono::steady_clock::now());
    co_return plain_answer(*early, version,
                           false);  // the unread body makes the connection unusable
  }
  parser.body_limit(w.max_body_bytes);
  stream.expires_after(std::chrono::seconds(w.read_timeout_seconds));
  // Beast reads max(512, free capacity) bytes per recv, and the parser empties the buffer into
  // the body as it goes, so without room the body would arrive 512 bytes per syscall.
  if (auto length = parser.content_length())
    buffer.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, max_read_chunk)));
  auto [ec2, n2] = co_await http::async_read(stream, buffer, parser, nothrow);
  if (ec2 == http::error::body_limit)
    co_return plain_answer(http::status::payload_too_large, version, false);
  if (ec2) throw boost::system::system_error(ec2);
  const bool keep_alive = parser.get().keep_alive();
  const auto started = std::chrono::steady_clock::now();
  thread_local shopify::decoder decoder;
  auto request = parser.release();
  // admit moves the body out only when it admits: a refused request is intact.
  auto admitted = ctx.gate.admit(std::move(request), decoder, now_ms());
  keep_open = keep_alive;
  if (!admitted) {
    if (admitted.error() == http::status::unauthorized) ctx.counters.hmac_failures.fetch_add(1, std::memory_order_relaxed);
    claimed_ids(request).write(spdlog::level::warn, refusal_name(admitted.error()), admitted.error(), started);
    co_return plain_answer(admitted.error(), version, keep_alive);
  }
  const outcome_line line(admitted->webhook_id, admitted->topic_name, admitted->shop, spdlog::level::info);
  auto verdict = co_await async_submit(ctx.pipeline, std::move(*admitted), asio::use_awaitable);
  auto status = status_of(verdict);
  const bool stored = verdict && (*verdict == ingest_status::committed || *verdict == ingest_status::duplicate);
  line.write(stored ? spdlog::level::info : spdlog::level::warn, verdict ? to_string(*verdict) : "overloaded",
             status, started);
  answer res = plain_answer(status, version, keep_alive);
  if (status == http::status::service_unavailable) {
    ctx.counters.rejected_overload.fetch_add(1, std::memory_order_relaxed);
    res.retry_after = true;
  }
  co_return res;
}

// Closes gracefully: sends FIN, then reads and discards what the client still sends (the
// unread body after an early 413 or 404) until it closes, for at most a few seconds and bytes.
// Closing with unread data would make the kernel send RST, and a client that is still writing
// its body would lose the answer it was sent (nginx's lingering close does the same).
asio::awaitable<void> linger(beast::tcp_stream& stream) {
  constexpr std::size_t max_discard = 16 * 1024 * 1024;
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  for (std::size_t discarded = 0; discarded < max_discard;) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), nothrow);
    if (ec) break;
    discarded += n;
  }
}

asio::awaitable<void> webhook_session(beast::tcp_stream stream, webhook_context& ctx) {
  beast::flat_buffer buffer;
  const auto& w = ctx.cfg.webhook;
  try {
    for (bool first = true;; first = false) {
      // Between keep-alive requests the idle timeout applies; once a request starts, the read
      // timeout bounds it whole.
      stream.expires_after(std::chrono::seconds(first ? w.read_timeout_seconds : w.idle_timeout_seconds));
      bool keep_open = false;
      answer res = co_await answer_webhook(stream, buffer, ctx, keep_open);
      if (ctx.draining.load(std::memory_order_relaxed)) res.keep_alive = false;
      stream.expires_after(std::chrono::seconds(w.write_timeout_seconds));
      co_await asio::async_write(stream, asio::buffer(wire(res)), asio::use_awaitable);
      if (!keep_open || !res.keep_alive) break;
      // An idle keep-alive connection holds no large buffer (thousands of them may wait).
      if (buffer.capacity() > idle_buffer_limit) buffer.shrink_to_fit();
    }
  } catch (const boost::system::system_error&) {
    // Timeouts, resets and malformed requests end the connection; nothing was accepted.
  }
  co_await linger(stream);
  ctx.counters.connections.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace

tcp::acceptor bind_webhook(asio::io_context& io, const std::string& listen) {
  auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  auto port = static_cast<unsigned short>(std::stoul(listen.substr(colon + 1)));
  tcp::endpoint endpoint(asio::ip::make_address(host), port);
  tcp::acceptor acceptor(io);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

unix_socket::acceptor bind_unix(asio::io_context& io, const std::string& path, unsigned mode,
                                const std::string& group) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(path + ": exists and is not a socket; refusing to replace it");
    // A socket that still answers belongs to a running daemon: taking it would steal its clients.
    unix_socket::socket probe(io);
    boost::system::error_code refused;
    probe.connect(unix_socket::endpoint(path), refused);
    if (!refused) throw std::runtime_error(path + ": another process is listening on it; refusing to replace it");
    ::unlink(path.c_str());
  }
  unix_socket::acceptor acceptor(io);
  acceptor.open();
  acceptor.bind(unix_socket::endpoint(path));
  // The mode (and group) are set before listen(), so no client can connect in between.
  if (::chmod(path.c_str(), mode) != 0)
    throw std::runtime_error(path + ": chmod failed: " + std::strerror(errno));
  if (!group.empty()) {
    struct group* g = ::getgrnam(group.c_str());
    if (!g) throw std::runtime_error(path + ": unknown group '" + group + "'");
    // No chown when the socket already has the group (the daemon's own): the systemd unit
    // filters out chown (SystemCallFilter=~@privileged).
    struct stat bound {};
    const bool has_group = ::stat(path.c_str(), &bound) == 0 && bound.st_gid == g->gr_gid;
    if (!has_group && ::chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0)
      throw std::runtime_error(path + ": chown to group '" + group + "' failed: " + std::strerror(errno));
  }
  acceptor.listen(asio::socket_base::max_listen_connections);
  return acceptor;
}

// An accept failed for want of descriptors (EMFILE, ENFILE) or memory. The connection stays in
// the backlog, so accepting again at once fails again at once and would spin the thread the
// sessions need to finish and free descriptors: pause instead.
asio::awaitable<void> pause_accepting(const boost::system::error_code& ec) {
  spdlog::warn("accept failed: {}; pausing accepts for 100 ms", ec.message());
  asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
  co_await timer.async_wait(nothrow);
}

asio::awaitable<void> serve_webhooks(tcp::acceptor& acceptor, webhook_context& ctx) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(nothrow);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      co_await pause_accepting(ec);
      continue;
    }
    if (ctx.counters.connections.load(std::memory_order_relaxed) >= ctx.cfg.webhook.max_connections) {
      ctx.counters.rejected_overload.fetch_add(1, std::memory_order_relaxed);
      continue;  // the socket closes as it goes out of scope
    }
    ctx.counters.connections.fetch_add(1, std::memory_order_relaxed);
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), webhook_session(beast::tcp_stream(std::move(socket)), ctx),
                   asio::detached);
  }
}


}  // namespace shopsegd

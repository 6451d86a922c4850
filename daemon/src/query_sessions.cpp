// The query and admin sockets' side: the accept loop, which deals connections out to the query
// threads (lanes), and the sessions: read a request, let the pure handler answer (waiting for the
// writer or a long-poll's notification when it asks), write the answer.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <chrono>
#include <memory>

#include "change_notifier.hpp"
#include "listeners.hpp"
#include "session_support.hpp"

namespace shopsegd {
namespace {

namespace beast = boost::beast;
using unix_socket = asio::local::stream_protocol;
using response = http::response<http::string_body>;
constexpr std::size_t max_admin_body = 32 * 1024 * 1024;  // an import chunk

// Answers one query. A long-poll that found nothing waits for the writer's notification or its
// deadline (the query thread serves other sessions meanwhile) and asks again; a retry waits for
// the writer's verdict.
asio::awaitable<response> answer_query(query_api& api, const request& req, access rights) {
  std::optional<std::chrono::steady_clock::time_point> deadline;
  bool deadline_passed = false;
  for (;;) {
    answer a = api.handle(req, rights, deadline_passed);
    if (auto* ready = std::get_if<response>(&a)) co_return std::move(*ready);
    if (auto* wait = std::get_if<wait_for_changes>(&a)) {
      if (!deadline) deadline = wait->until;
      deadline_passed = !(co_await api.notifier()->wait(*deadline));
      continue;
    }
    if (auto* chunk = std::get_if<submit_import>(&a)) {
      auto result = co_await async_import(*api.pipeline(), std::move(chunk->chunk),
                                          std::move(chunk->decode), asio::use_awaitable);
      co_return chunk->finish(std::move(result));
    }
    auto& submit = std::get<submit_delivery>(a);
    auto verdict = co_await async_submit(*api.pipeline(), std::move(submit.d), asio::use_awaitable, submit.retry_of);
    co_return submit.finish(verdict);
  }
}

// A query connection and its deadline. One watchdog timer per connection sleeps until the
// deadline and closes the socket once it has passed (which ends the pending read or write).
// Why not beast::basic_stream::expires_after: it re-arms a timer for every read and every
// write, two timerfd_settime calls per lookup; here a request moves the deadline with a store,
// and the watchdog, waking at the old deadline, finds it moved and sleeps again.
struct query_connection {
  explicit query_connection(unix_socket::socket s) : socket(std::move(s)), watchdog(socket.get_executor()) {}
  unix_socket::socket socket;
  asio::steady_timer watchdog;
  // now() + query_io_limit while waiting for the client; max() while the daemon answers (a
  // long-poll may wait up to 60 s). Only ever set to those two, so the watchdog, armed at most
  // query_io_limit ahead, never wakes after a deadline.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};
constexpr auto query_io_limit = std::chrono::seconds(60);  // to send a request, or take an answer

asio::awaitable<void> query_watchdog(std::shared_ptr<query_connection> c) {
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (c->deadline <= now) {
      boost::system::error_code ignored;
      c->socket.close(ignored);
      co_return;
    }
    c->watchdog.expires_at(std::min(c->deadline, now + query_io_limit));
    auto [ec] = co_await c->watchdog.async_wait(nothrow);
    if (ec || !c->socket.is_open()) co_return;  // the session ended
  }
}

asio::awaitable<void> query_session(std::shared_ptr<query_connection> c, query_api& api, access rights) {
  beast::flat_buffer buffer;
  const auto wait_for_client = [&c] { c->deadline = std::chrono::steady_clock::now() + query_io_limit; };
  try {
    for (;;) {
      wait_for_client();
      http::request_parser<http::string_body> parser;
      // Import chunks (admin) carry a few thousand records; queries carry next to nothing.
      parser.body_limit(rights == access::admin ? max_admin_body : 1 << 20);
      co_await http::async_read(c->socket, buffer, parser, asio::use_awaitable);
      c->deadline = std::chrono::steady_clock::time_point::max();
      auto res = co_await answer_query(api, parser.get(), rights);
      wait_for_client();
      co_await http::async_write(c->socket, res, asio::use_awaitable);
      if (!res.keep_alive()) break;
    }
  } catch (const boost::system::system_error&) {
  }
  boost::system::error_code ignored;
  c->socket.shutdown(unix_socket::socket::shutdown_send, ignored);
  c->socket.close(ignored);
  c->watchdog.cancel();
}

}  // namespace

asio::awaitable<void> serve_queries(unix_socket::acceptor& acceptor, std::vector<query_lane> lanes, access rights) {
  for (std::size_t next = 0;; next = (next + 1) % lanes.size()) {
    const query_lane& lane = lanes[next];
    // The socket is made on its lane's executor: its reads, writes and watchdog run there.
    auto [ec, socket] = co_await acceptor.async_accept(lane.executor, nothrow);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      co_await pause_accepting(ec);
      continue;
    }
    auto connection = std::make_shared<query_connection>(std::move(socket));
    asio::co_spawn(lane.executor, query_watchdog(connection), asio::detached);
    asio::co_spawn(lane.executor, query_session(std::move(connection), *lane.api, rights), asio::detached);
  }
}

}  // namespace shopsegd

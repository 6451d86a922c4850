// The transport: TCP and Unix-domain listeners and one coroutine per connection. A session
// reads a request under limits and timeouts, hands it to a pure handler, writes the answer.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <atomic>
#include <memory>
#include <vector>

#include "config.hpp"
#include "ingest.hpp"
#include "query_api.hpp"
#include "webhook.hpp"

namespace shopsegd {

namespace asio = boost::asio;

// Shared by every webhook session; owned by the app, outlives the sessions.
struct webhook_context {
  const config& cfg;
  webhook_gate gate;
  ingest& pipeline;
  webhook_counters counters;
  // Set on SIGTERM: every answer from then on closes its connection, so keep-alive clients go
  // away instead of collecting 503s until the process exits.
  std::atomic<bool> draining{false};
};

// Binds the webhook listener ("host:port"; port 0 picks one). Throws on failure (start-up).
asio::ip::tcp::acceptor bind_webhook(asio::io_context& io, const std::string& listen);

// Binds a Unix socket at `path` with `mode` (and `group` when non-empty) set before it listens.
// A stale file is replaced only when it is a socket. Throws on failure (start-up).
asio::local::stream_protocol::acceptor bind_unix(asio::io_context& io, const std::string& path,
                                                 unsigned mode, const std::string& group);

asio::awaitable<void> serve_webhooks(asio::ip::tcp::acceptor& acceptor, webhook_context& ctx);
// A query thread: the executor its sessions run on and its API (with the thread's own reader).
struct query_lane {
  asio::any_io_executor executor;
  query_api* api;
};

// Accepts on `acceptor` and hands the connections to `lanes` in turn; a connection stays on its
// lane. REQUIRES: `lanes` is not empty.
asio::awaitable<void> serve_queries(asio::local::stream_protocol::acceptor& acceptor,
                                    std::vector<query_lane> lanes, access rights);

}  // namespace shopsegd

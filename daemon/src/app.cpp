// Start-up and shutdown order. Threads: the network thread (webhook sessions, decoding, HMAC),
// the writer thread (the only store writer), and the query threads (the Unix sockets' sessions,
// each thread with its own read-only connection).
#include "app.hpp"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "change_notifier.hpp"
#include "listeners.hpp"
#include "run_loop.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "threads.hpp"

namespace shopsegd {
namespace {

void make_parent_dir(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
}

void warn_about_development_secret(const config& cfg) {
  if (!cfg.uses_development_secret()) return;
  for (int i = 0; i < 3; ++i)
    spdlog::warn("!!! [webhook] secrets holds the DEVELOPMENT secret from config.example.toml: "
                 "anyone can forge deliveries. Set your app's client secret before going live. !!!");
}

// Why more than one query thread: a lookup costs about 20 µs of CPU, most of it the kernel's
// socket wake-ups, so a single thread caps the query socket near what eight busy help-desk
// clients ask of it and leaves the other core idle. Each thread has its own read-only SQLite
// connection, its own sessions and its own long-poll notifier.
constexpr std::size_t query_thread_count = 2;

// The query threads. Lane 0 also runs both accept loops and every admin session.
struct query_lanes {
  std::vector<std::unique_ptr<asio::io_context>> ios;
  std::vector<std::unique_ptr<change_notifier>> notifiers;
  std::vector<std::unique_ptr<query_api>> apis;
  void stop() {
    for (auto& io : ios) io->stop();
  }
};

// Stops accepting, lets the writer commit what was accepted, then stops the threads. The
// writer is joined on `drainer`, not on the network thread, which must keep running to send the
// answers of the last commit; the work guard keeps net.run() from returning before then.
void drain(asio::io_context& net, query_lanes& queries, asio::ip::tcp::acceptor& acceptor,
           webhook_context& hooks, ingest& pipeline, std::thread& drainer) {
  if (drainer.joinable()) return;  // a second SIGTERM while draining
  sd_notify(0, "STOPPING=1");
  spdlog::info("shutdown: no longer accepting; committing accepted deliveries");
  boost::system::error_code ignored;
  acceptor.close(ignored);
  hooks.draining.store(true, std::memory_order_relaxed);
  drainer = std::thread([&net, &queries, &pipeline, guard = asio::make_work_guard(net)] {
    pipeline.stop();
    // Give the network thread a moment to send the answers of the last commit.
    auto timer = std::make_shared<asio::steady_timer>(net, std::chrono::milliseconds(300));
    timer->async_wait([timer, &net, &queries](auto) {
      queries.stop();
      net.stop();
    });
  });
}

// Each webhook connection and query client holds a descriptor. The unit sets LimitNOFILE=65536;
// elsewhere the soft limit is often 1024, below max_connections: raise it as far as the hard
// limit allows (systemd's advice for services that need more).
void raise_descriptor_limit(const config& cfg) {
  rlimit lim{};
  const rlim_t wanted = cfg.webhook.max_connections + 256;  // + store files, query clients
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= wanted) return;
  lim.rlim_cur = std::min(wanted, lim.rlim_max);
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) ::getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < wanted)
    spdlog::warn("descriptor limit {} is below [webhook] max_connections {} + 256: connections beyond it "
                 "wait in the backlog (raise LimitNOFILE / ulimit -n)", lim.rlim_cur, cfg.webhook.max_connections);
}

// The wall clock, shifted by $SHOPSEGD_TEST_CLOCK_OFFSET_MS when set: integration tests start
// the daemon "in the future" to see time-driven segment changes without waiting for them.
std::function<std::int64_t()> clock_from_environment() {
  std::int64_t offset = 0;
  if (const char* v = std::getenv("SHOPSEGD_TEST_CLOCK_OFFSET_MS")) {
    offset = std::strtoll(v, nullptr, 10);
    spdlog::warn("clock: shifted by {} ms ($SHOPSEGD_TEST_CLOCK_OFFSET_MS, for tests only)", offset);
  }
  return [offset] { return now_ms() + offset; };
}

// What a reload applies: segments, order flags, [default_service], shop time zones and the log
// level. The rest (listeners, sockets, store, limits, secrets) is bound at start.
std::vector<std::string> reload_config(const config& running, ingest& pipeline) {
  auto next = load_config(running.source);
  if (!next) {
    for (const auto& m : next.error().messages) spdlog::error("reload: {}", m);
    spdlog::error("reload refused: {} error(s) in {}; the running configuration stays",
                  next.error().messages.size(), running.source);
    return next.error().messages;
  }
  const bool restart_needed =
      next->webhook.listen != running.webhook.listen || next->webhook.path != running.webhook.path ||
      next->webhook.secrets != running.webhook.secrets || next->webhook.allowed_shops != running.webhook.allowed_shops ||
      next->query.socket != running.query.socket || next->admin.socket != running.admin.socket ||
      next->store.path != running.store.path;
  if (restart_needed)
    spdlog::warn("reload: [webhook], [query], [admin] and [store] changes take effect after a restart");
  spdlog::set_level(spdlog::level::from_str(next->log.level));
  pipeline.request_reload(std::make_shared<const config>(std::move(*next)));
  return {};
}

}  // namespace

int run_daemon(const config& cfg) {
  warn_about_development_secret(cfg);
  raise_descriptor_limit(cfg);
  make_parent_dir(cfg.store.path);
  store::open_options options;
  options.background_checkpoints = true;
  auto opened = store::writer::open(cfg.store.path, options);
  if (!opened) {
    const auto& ec = opened.error();
    spdlog::critical("store {}: {}{}", cfg.store.path, ec.message(),
                     store::is_corrupt(ec) ? " (not a shopseg database, or a newer version; refusing to start)" : "");
    return 1;
  }
  std::unique_ptr<store::writer> writer = std::move(*opened);
  std::vector<std::unique_ptr<store::reader>> readers;
  for (std::size_t i = 0; i < query_thread_count; ++i) {
    auto reader = store::reader::open(cfg.store.path);
    if (!reader) {
      spdlog::critical("store {}: {}", cfg.store.path, reader.error().message());
      return 1;
    }
    readers.push_back(std::move(*reader));
  }

  live_config live(std::make_shared<const config>(cfg));
  auto checkpoints = store::checkpointer::open(cfg.store.path);
  if (!checkpoints) {
    spdlog::critical("store {}: {}", cfg.store.path, checkpoints.error().message());
    return 1;
  }
  auto clock = clock_from_environment();
  ingest pipeline(*writer, cfg, live, clock, std::move(*checkpoints));
  webhook_context hooks{cfg, webhook_gate(cfg), pipeline, {}};
  asio::io_context net(1);
  query_lanes queries;
  auto waiting = std::make_shared<std::atomic<std::size_t>>(0);
  for (std::size_t i = 0; i < query_thread_count; ++i) {
    queries.ios.push_back(std::make_unique<asio::io_context>(1));
    queries.notifiers.push_back(std::make_unique<change_notifier>(queries.ios.back()->get_executor(), waiting));
  }
  pipeline.on_changes([&queries] {
    for (auto& n : queries.notifiers) n->notify();
  });
  auto reload = [&cfg, &pipeline] { return reload_config(cfg, pipeline); };
  daemon_state state{reload, clock, &pipeline, &hooks.counters, nullptr, {}};

  std::thread drainer;
  try {
    auto acceptor = bind_webhook(net, cfg.webhook.listen);
    make_parent_dir(cfg.query.socket);
    make_parent_dir(cfg.admin.socket);
    auto query_acceptor = bind_unix(*queries.ios[0], cfg.query.socket,
                                    static_cast<unsigned>(std::stoul(cfg.query.mode, nullptr, 8)),
                                    cfg.query.group);
    auto admin_acceptor = bind_unix(*queries.ios[0], cfg.admin.socket, 0600, "");
    auto bound = acceptor.local_endpoint();
    spdlog::info("webhook listener on {}:{}{}", bound.address().to_string(), bound.port(),
                 cfg.webhook.path);
    state.webhook_listen = bound.address().to_string() + ":" + std::to_string(bound.port());
    std::vector<query_lane> lanes;
    for (std::size_t i = 0; i < query_thread_count; ++i) {
      daemon_state lane_state = state;
      lane_state.changes = queries.notifiers[i].get();
      queries.apis.push_back(std::make_unique<query_api>(cfg, live, std::move(readers[i]), std::move(lane_state)));
      lanes.push_back({queries.ios[i]->get_executor(), queries.apis[i].get()});
    }
    spdlog::info("query socket {} (mode {}), admin socket {} (mode 0600)", cfg.query.socket,
                 cfg.query.mode, cfg.admin.socket);

    pipeline.start();
    asio::co_spawn(net, serve_webhooks(acceptor, hooks), asio::detached);
    asio::co_spawn(*queries.ios[0], serve_queries(query_acceptor, lanes, access::query), asio::detached);
    asio::co_spawn(*queries.ios[0], serve_queries(admin_acceptor, {lanes[0]}, access::admin), asio::detached);

    asio::signal_set signals(net, SIGTERM, SIGINT, SIGHUP);
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int signo) {
          if (ec) return;
          if (signo == SIGHUP) {
            spdlog::info("SIGHUP: reloading {}", cfg.source);
            (void)reload();
            signals.async_wait(on_signal);
            return;
          }
          drain(net, queries, acceptor, hooks, pipeline, drainer);
        };
    signals.async_wait(on_signal);

    // The work guards keep a lane with no session yet running; drain() stops every lane.
    std::vector<std::thread> query_threads;
    for (std::size_t i = 0; i < queries.ios.size(); ++i)
      query_threads.emplace_back(
          [i, io = queries.ios[i].get(), guard = asio::make_work_guard(*queries.ios[i])] {
            name_this_thread(("query-" + std::to_string(i)).c_str());
            run_with_spin(*io);
          });
    sd_notify(0, "READY=1");
    spdlog::info("shopsegd ready");
    net.run();
    for (auto& t : query_threads) t.join();
    if (drainer.joinable()) drainer.join();
  } catch (const std::exception& e) {
    spdlog::critical("start-up failed: {}", e.what());
    pipeline.stop();
    if (drainer.joinable()) drainer.join();
    return 1;
  }
  pipeline.stop();
  std::error_code ignored;
  std::filesystem::remove(cfg.query.socket, ignored);
  std::filesystem::remove(cfg.admin.socket, ignored);
  spdlog::info("shopsegd stopped");
  return 0;
}

}  // namespace shopsegd

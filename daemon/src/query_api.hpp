// The query API of SPEC §4 as pure functions: (request, caller's rights) -> answer. The
// transport (a Unix-socket session) only reads, calls handle(), and writes. Routes are a table.
// Two answers need the session's help and are values too: a long-poll that found nothing yet
// (the session waits for a change or the deadline, then asks again) and a quarantine retry
// (the session hands the delivery to the writer and renders its verdict).
#pragma once

#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "config.hpp"
#include "counters.hpp"
#include "import.hpp"
#include "live_config.hpp"
#include "store/reader.hpp"
#include "webhook.hpp"

namespace shopsegd {

namespace http = boost::beast::http;

enum class access { query, admin };

class ingest;
class change_notifier;
enum class ingest_status;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// "Nothing yet": wait for a change notification or `until`, then call handle() again.
struct wait_for_changes {
  std::chrono::steady_clock::time_point until;
};
// Submit `d` to the writer (a retry of quarantine entry `retry_of`) and answer finish(verdict);
// the verdict is nullopt when the queue was full.
struct submit_delivery {
  delivery d;
  std::int64_t retry_of = 0;
  std::function<response(std::optional<ingest_status>)> finish;
};
// Hand an import chunk to the writer, then decode(pipeline) its records into the chunk's feed
// while the writer applies them, and answer finish(result); nullopt when too many chunks wait
// (query_import.cpp).
struct submit_import {
  import_chunk chunk;
  std::function<void(ingest&)> decode;
  std::function<response(std::optional<import_result>)> finish;
};
using answer = std::variant<response, wait_for_changes, submit_delivery, submit_import>;

// What the API reads besides the store. Pointers are owned by the app and outlive the API.
struct daemon_state {
  // Re-reads the config file and, when it is valid, starts a reload; returns the errors of an
  // invalid one (then the running configuration stays).
  std::function<std::vector<std::string>()> reload;
  std::function<std::int64_t()> clock;  // Unix ms (the daemon's clock, shifted in tests)
  ingest* pipeline = nullptr;
  const webhook_counters* webhooks = nullptr;
  change_notifier* changes = nullptr;
  std::string webhook_listen;  // the bound "host:port"
};

class query_api {
 public:
  // `reader` is owned by the calling thread's API instance: one query_api per query thread.
  // `cfg` is the start-up configuration; segments, order flags and services come from `live`.
  query_api(const config& cfg, const live_config& live, std::unique_ptr<store::reader> reader, daemon_state state);

  // `deadline_passed`: a long-poll asks again after its wait ended without a change, and must
  // answer now.
  answer handle(const request& req, access rights, bool deadline_passed = false);

  change_notifier* notifier() const noexcept { return state_.changes; }
  ingest* pipeline() const noexcept { return state_.pipeline; }

  struct context;  // one request being answered (query_context.hpp)

 private:
  struct route;
  answer dispatch(const request& req, access rights, bool deadline_passed);
  // Customers (query_customers.cpp).
  answer customer(const context& c);
  answer customers_lookup(const context& c);
  answer explain(const context& c);
  answer export_customer(const context& c);
  answer order(const context& c);
  // Segments and members (query_segments.cpp).
  answer segments(const context& c);
  answer members(const context& c);
  // The change log, quarantine, reload (query_ops.cpp).
  answer changes(const context& c);
  answer quarantine(const context& c);
  answer retry(const context& c);
  answer reload(const context& c);
  // Backfill (query_import.cpp).
  answer import(const context& c);
  // An online copy of the store (query_backup.cpp).
  answer backup(const context& c);
  // Health and metrics (query_health.cpp).
  answer health(const context& c);
  answer metrics(const context& c);

  const config& cfg_;
  const live_config& live_;
  std::unique_ptr<store::reader> reader_;
  daemon_state state_;
};

}  // namespace shopsegd

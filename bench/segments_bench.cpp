// The clock and reload at scale, through the daemon's segment engine on a real store file:
// 1,000,000 customers (one counting order each), the segments of config.example.toml.
//   1. a clock tick with 100 customers due evaluates those 100 (and only those);
//   2. a full recompute (what a reload does): a worker thread judges 4,000 customers (--batch)
//      per read snapshot, this thread (the writer) applies each batch in a transaction.
//   build-bench/bench/segments_bench [--customers N] [--due N] [--batch N] [--keep DIR] [--fill-only]
#include <sqlite3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "config.hpp"
#include "reload_worker.hpp"
#include "segments.hpp"
#include "store/writer.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

// The process's user + system CPU seconds: on a shared machine wall time measures the wait for
// a core and the disk as much as the work.
double cpu_seconds(int who = RUSAGE_SELF) {
  rusage u{};
  ::getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void exec(sqlite3* db, const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::fprintf(stderr, "segments_bench: %s\n", error);
    std::exit(1);
  }
}

// Bulk rows straight in SQL: customer i spends a pseudo-random amount on one order placed
// (i mod 400) days ago; next changes lie far ahead except for the first `due` customers.
void fill(const std::string& path, long customers, long due, std::int64_t now_ms) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  const std::string n = std::to_string(customers), now = std::to_string(now_ms);
  exec(db, "BEGIN");
  exec(db, "WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < " + n + ") "
           "INSERT INTO orders(shop, order_id, customer_id, name, updated_at_ms, created_at_ms, processed_at_ms, "
           "net_amount_minor, currency, test, financial_status, fulfillment_status, email) "
           "SELECT 'hot-rod-an.myshopify.com', i, i, '#' || i, " + now + " - (i % 400) * 86400000, " + now +
           " - (i % 400) * 86400000, " + now + " - (i % 400) * 86400000, (i * 7919) % 1500000, 'USD', 0, 'paid', '', '' FROM k");
  exec(db, "INSERT INTO customers(shop, customer_id, email, email_lower, amount_spent_minor, number_of_orders, "
           "first_order_at_ms, last_order_at_ms, largest_order_minor, currency, next_change_at_ms) "
           "SELECT shop, customer_id, 'c' || customer_id || '@example.com', 'c' || customer_id || '@example.com', "
           "net_amount_minor, 1, processed_at_ms, processed_at_ms, net_amount_minor, 'USD', "
           "iif(customer_id <= " + std::to_string(due) + ", " + now + " - 1000, " + now + " + 86400000 * 400) FROM orders");
  exec(db, "COMMIT");
  sqlite3_close(db);
}

}  // namespace

int main(int argc, char** argv) {
  long customers = 1'000'000, due = 100, batch_size = 4000;
  bool fill_only = false;
  std::string keep;
  for (int i = 1; i < argc; ++i) {
    const bool has_value = i + 1 < argc;
    if (!std::strcmp(argv[i], "--fill-only"))
      fill_only = true;
    else if (has_value && !std::strcmp(argv[i], "--customers"))
      customers = std::atol(argv[++i]);
    else if (has_value && !std::strcmp(argv[i], "--due"))
      due = std::atol(argv[++i]);
    else if (has_value && !std::strcmp(argv[i], "--batch"))
      batch_size = std::atol(argv[++i]);
    else if (has_value && !std::strcmp(argv[i], "--keep"))
      keep = argv[++i];
  }
  const auto dir = keep.empty() ? std::filesystem::temp_directory_path() / ("shopseg-segbench-" + std::to_string(::getpid()))
                                : std::filesystem::path(keep);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "shopseg.db").string();
  auto cfg = shopsegd::load_config(std::string(SHOPSEG_SOURCE_DIR) + "/config.example.toml");
  if (!cfg) {
    std::fprintf(stderr, "segments_bench: %s\n", cfg.error().messages.front().c_str());
    return 1;
  }
  const auto config = std::make_shared<const shopsegd::config>(std::move(*cfg));
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  auto w = std::move(store::writer::open(path).value());
  auto t = clock_type::now();
  fill(path, customers, due, now);
  std::printf("store: %ld customers with one order each, filled in %.1f s\n", customers, seconds_since(t));
  if (fill_only) return 0;  // a store for bench/run-reload.sh (with --keep)

  shopsegd::segment_engine engine(config);
  t = clock_type::now();
  (void)engine.rebuild_ranks(*w);
  std::printf("percentile ranks rebuilt in %.2f s\n", seconds_since(t));

  t = clock_type::now();
  (void)w->begin();
  auto tick = engine.tick(*w, now, 1000).value();
  (void)w->commit();
  std::printf("clock tick: %zu customers due of %ld, %zu evaluated (%zu by percentile), %.2f ms\n",
              static_cast<std::size_t>(due), customers, tick.evaluated, tick.by_percentile, seconds_since(t) * 1e3);

  // The first pass computes every membership (all of them are new: a first start, or a
  // reload that changes most segments); the second is a reload in which nothing changes.
  for (const char* pass : {"full recompute, every membership new", "full recompute, nothing changes"}) {
    t = clock_type::now();
    const double cpu = cpu_seconds(), writer_cpu = cpu_seconds(RUSAGE_THREAD);
    std::size_t evaluated = 0, changes = 0, batches = 0;
    std::atomic<std::uint64_t> commits{0};
    {
      shopsegd::reload_worker worker(
          w->path(), engine, commits, [&] { return now; }, [] {}, static_cast<int>(batch_size));
      for (;;) {
        auto batch = worker.take(true).value();
        (void)w->begin();
        auto stats = engine.apply_reloaded(*w, batch.customers, {}, now).value();
        (void)w->commit();
        commits.fetch_add(1);
        evaluated += stats.evaluated, changes += stats.changes, ++batches;
        if (!batch.through) break;
      }
    }
    const double took = seconds_since(t), cpu_took = cpu_seconds() - cpu;
    std::printf(
        "%s: %zu customers in %.2f s (%.0f customers/s, CPU %.2f s, writer thread %.2f s), %zu "
        "transactions, %zu "
        "membership changes\n",
        pass, evaluated, took, evaluated / took, cpu_took, cpu_seconds(RUSAGE_THREAD) - writer_cpu,
        batches, changes);
  }
  w.reset();
  if (keep.empty()) std::filesystem::remove_all(dir);
  return 0;
}

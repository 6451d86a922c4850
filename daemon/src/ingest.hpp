// The ingest pipeline's writer: one thread owns the store's write connection and commits in
// groups. Every delivery queued while a commit runs goes into the next transaction, and each
// delivery's completion runs only after the COMMIT (and its fsync) that covers it returned.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "config.hpp"
#include "segments.hpp"
#include "store/writer.hpp"
#include "webhook.hpp"

namespace shopsegd {

enum class ingest_status {
  committed,     // applied (or found stale / tombstoned) and durable
  duplicate,     // (shop, webhook id) was seen before: nothing changed
  quarantined,   // kept raw with its reason, durable
  storage_full,  // the disk is full: nothing stored, answer 503
  failed,        // the store failed otherwise: nothing stored, answer 503
};

std::string_view to_string(ingest_status s) noexcept;

struct ingest_counters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> stale{0};
  std::atomic<std::uint64_t> quarantined{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> evaluations{0};       // customers evaluated after deliveries
  std::atomic<std::uint64_t> clock_evaluations{0};  // customers evaluated because time passed
  std::atomic<std::uint64_t> membership_changes{0};
};

class ingest {
 public:
  // Runs on the writer thread after the commit; must not block (post to an executor).
  using completion = std::function<void(ingest_status)>;

  // `clock` gives Unix milliseconds (injectable so tests can travel in time).
  ingest(store::writer& writer, const config& cfg, std::function<std::int64_t()> clock);
  ~ingest();
  ingest(const ingest&) = delete;
  ingest& operator=(const ingest&) = delete;

  void start();
  // Queues a delivery. False when the queue is at max_queue or the pipeline is stopping: the
  // caller answers 503 and `done` is not called. Thread-safe.
  bool submit(delivery&& d, completion done);
  // Stops taking deliveries, commits everything already queued, then joins the thread.
  void stop();

  std::size_t depth() const noexcept { return depth_.load(std::memory_order_relaxed); }
  const ingest_counters& counters() const noexcept { return counters_; }

 private:
  struct job {
    delivery d;
    completion done;
    ingest_status status = ingest_status::committed;
  };
  void run();
  void commit_batch(std::deque<job>& batch);
  ingest_status apply_one(job& j, bool& erased);
  void maybe_prune(std::int64_t now_ms);
  // Re-evaluates the customers whose next change time has come; returns when none is due.
  void run_clock(std::int64_t now_ms);
  // Recomputes every customer's memberships in batches (start-up after a segment change).
  void recompute_all(const std::string& cause);
  std::chrono::milliseconds wait_time(std::int64_t now_ms);

  store::writer& writer_;
  const config& cfg_;
  std::function<std::int64_t()> clock_;
  segment_engine segments_;
  std::optional<std::int64_t> next_due_ms_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  bool stopping_ = false;
  std::atomic<std::size_t> depth_{0};
  std::int64_t next_prune_ms_ = 0;
  ingest_counters counters_;
  std::thread thread_;
};

std::int64_t now_ms() noexcept;

}  // namespace shopsegd

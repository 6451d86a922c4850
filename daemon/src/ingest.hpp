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
#include <map>
#include <mutex>
#include <thread>

#include "config.hpp"
#include "counters.hpp"
#include "import.hpp"
#include "live_config.hpp"
#include "reload_worker.hpp"
#include "segment_counts.hpp"
#include "segments.hpp"
#include "store/checkpointer.hpp"
#include "store/writer.hpp"
#include "webhook.hpp"

namespace shopsegd {

enum class ingest_status {
  committed,     // applied (or found stale / tombstoned) and durable
  duplicate,     // (shop, webhook id) was seen before: nothing changed
  quarantined,   // kept raw with its reason, durable
  storage_full,  // the disk is full: nothing stored, answer 503
  failed,        // the store failed otherwise: nothing stored, answer 503
  not_found,     // a retry of a quarantine entry that is no longer there
};

std::string_view to_string(ingest_status s) noexcept;

class ingest {
 public:
  // Runs on the writer thread after the commit; must not block (post to an executor).
  using completion = std::function<void(ingest_status)>;

  // `cfg` holds what a reload does not change (limits, paths); `live` the reloadable part,
  // which the writer updates as a reload progresses. `clock` gives Unix milliseconds
  // (injectable so tests can travel in time).
  // `checkpoints` (may be null) copies the WAL back on a thread of its own; the writer must have
  // been opened with background_checkpoints then.
  ingest(store::writer& writer, const config& cfg, live_config& live, std::function<std::int64_t()> clock,
         std::unique_ptr<store::checkpointer> checkpoints = nullptr);
  ~ingest();
  ingest(const ingest&) = delete;
  ingest& operator=(const ingest&) = delete;

  // Called on the writer thread after every commit that wrote change-log entries (it must not
  // block). Set before start().
  void on_changes(std::function<void()> listener) { on_changes_ = std::move(listener); }
  void start();
  // Queues a delivery. False when the queue is at max_queue or the pipeline is stopping: the
  // caller answers 503 and `done` is not called. Thread-safe.
  // With `retry_of`, the delivery is the body of that quarantine entry, decoded again: when it
  // decoded, it is applied like a webhook and the entry removed in the same transaction;
  // otherwise the entry stays with the new reason (status quarantined). not_found: the entry is
  // gone.
  bool submit(delivery&& d, completion done, std::optional<std::int64_t> retry_of = std::nullopt);
  // Queues an import chunk: the writer applies it in batches of import_batch_records between
  // the deliveries' batches (ingest_import.cpp). False when the pipeline is stopping or too many
  // chunks wait. `done` runs on the writer thread once the chunk is committed or failed.
  using import_completion = std::function<void(import_result)>;
  bool submit_import(import_chunk&& chunk, import_completion done);
  // Hands the writer more records of a chunk submitted with `feed`; `last`: the chunk is whole.
  // Records of a chunk that already failed are dropped with the feed. Thread-safe.
  void feed_import(import_feed& feed, std::vector<store::import_item>&& more, bool last);
  // Asks the writer to switch to `next` (a validated config): memberships are recomputed in
  // batches between deliveries, with cause "reload". A reload asked for while one runs starts
  // over with the newest config once the running one finished. Thread-safe.
  void request_reload(std::shared_ptr<const config> next);
  // Stops taking deliveries, commits everything already queued, then joins the thread.
  void stop();

  std::size_t depth() const noexcept { return depth_.load(std::memory_order_relaxed); }
  // When the oldest webhook delivery still waiting for the writer was received (nullopt: none
  // waits). Takes the queue's lock: for health, not for hot paths.
  std::optional<std::int64_t> oldest_waiting_ms();
  const ingest_counters& counters() const noexcept { return counters_; }
  const segment_counts& counts() const noexcept { return counts_; }
  bool reload_running() const noexcept { return reload_running_.load(std::memory_order_relaxed); }

 private:
  struct job {
    delivery d;
    completion done;
    std::optional<std::int64_t> retry_of;
    ingest_status status = ingest_status::committed;
    bool stale = false;
  };
  void run();
  // One batch of the oldest import chunk; true while an import is running.
  bool import_step();
  // Evaluates the customers a commit touched; during a reload, each by the engine its answers
  // are rendered with, and the new engine's ranks follow the old engine's customers too.
  store::result<evaluation_stats> evaluate_touched(std::vector<evaluation_request>& requests,
                                                   std::int64_t now);
  // Answers every import chunk as failed (the pipeline stops). REQUIRES: mutex_ held.
  void fail_imports();
  // A batch of an import can start now: a chunk waits, or the running one has a whole batch
  // decoded or is sealed. REQUIRES: mutex_ held, on the writer thread.
  bool import_ready() const;
  void commit_batch(std::deque<job>& batch);
  ingest_status apply_one(job& j, bool& erased);
  void maybe_prune(std::int64_t now_ms);
  void after_commit();
  // The counts and the long-polls follow a commit that wrote `changes` change-log entries.
  void publish_changes(std::size_t changes);
  void apply_redact_counts(const delivery& d);
  void count_outcome(const job& j);
  void run_checkpoints();
  // Re-evaluates the customers whose next change time has come; returns when none is due.
  void run_clock(std::int64_t now_ms);
  // Reload: start, one batch of the recompute, and the start-up check of the fingerprint.
  void begin_reload(std::shared_ptr<const config> next);
  // Applies the worker's next batch, if one is ready (with `wait`, waits for it).
  void reload_step(bool wait = false);
  void finish_reload();
  // Whether the running reload has passed the customer (the new engine owns it).
  bool reload_passed(const store::customer_key& key) const;
  // After every commit: counts it and, while a reload runs, remembers by that count the
  // customers it wrote that the reload has not passed. After a rollback: forgets them.
  void note_commit();
  void forget_written() noexcept { written_log_.clear(); }
  void recompute_at_start();
  void publish_epoch();
  std::chrono::milliseconds wait_time(std::int64_t now_ms);

  store::writer& writer_;
  const config& cfg_;
  live_config& live_;
  std::function<std::int64_t()> clock_;
  std::unique_ptr<segment_engine> segments_;
  std::optional<std::int64_t> next_due_ms_;
  // A running reload: the engine of the new config and how far it got.
  std::unique_ptr<segment_engine> reloading_;
  std::optional<store::customer_key> reload_done_through_;
  std::size_t reload_evaluated_ = 0, reload_changes_ = 0;
  std::int64_t reload_started_ms_ = 0;
  std::int64_t reload_retry_at_ms_ = 0;  // after a failed batch
  bool reload_finishing_ = false;  // the last batch is being applied: every customer is passed
  // The writer's commits so far (the reload worker reads it before each snapshot).
  std::atomic<std::uint64_t> commits_{0};
  // While a reload runs: the customers the open transaction wrote, and those that commits wrote
  // beyond the reload's progress, each with the count of the last commit that wrote it.
  std::vector<store::customer_key> written_log_;
  std::map<store::customer_key, std::uint64_t> written_at_;
  std::shared_ptr<const config> pending_reload_;  // guarded by mutex_
  // The background checkpointer and its thread.
  std::unique_ptr<store::checkpointer> checkpoints_;
  int checkpoint_requested_at_ = 0;  // WAL frames when the checkpointer was last woken
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  bool checkpoint_wanted_ = false;
  // Under checkpoint_mutex_: wakes so far, the wake the last finished run served and the WAL
  // frames it left backfilled, and the wake count at the last WAL restart (reports of runs
  // woken before it describe the old WAL).
  std::uint64_t checkpoint_wakes_ = 0, checkpoint_served_ = 0, restart_wake_ = 0;
  int checkpoint_backfilled_ = 0;
  bool checkpoints_stopping_ = false;
  std::thread checkpoint_thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<job> queue_;
  std::deque<std::unique_ptr<import_job>> imports_;  // guarded by mutex_
  std::unique_ptr<import_job> importing_;            // the writer's
  bool stopping_ = false;
  std::atomic<std::size_t> depth_{0};
  std::int64_t next_prune_ms_ = 0;
  ingest_counters counters_;
  segment_counts counts_;
  std::function<void()> on_changes_;
  std::atomic<bool> reload_running_{false};
  // Judges the running reload's batches on a thread of its own; after mutex_ and wake_, which
  // its callback uses.
  std::unique_ptr<reload_worker> reload_worker_;
  std::thread thread_;
};

std::int64_t now_ms() noexcept;

}  // namespace shopsegd

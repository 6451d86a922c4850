// Group commit. The writer takes the whole queue at once, applies it in one transaction and
// commits: one fsync covers every delivery that arrived while the previous commit ran, which
// is what lets throughput scale while each 200 still means "on disk".
#include "ingest.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "apply.hpp"
#include "shopify/events.hpp"
#include "threads.hpp"

namespace shopsegd {

std::int64_t now_ms() noexcept {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string_view to_string(ingest_status s) noexcept {
  switch (s) {
    case ingest_status::committed: return "committed";
    case ingest_status::duplicate: return "duplicate";
    case ingest_status::quarantined: return "quarantined";
    case ingest_status::storage_full: return "storage_full";
    case ingest_status::failed: return "failed";
    case ingest_status::not_found: return "not_found";
  }
  return "unknown";
}

namespace {
// The checkpointer is woken for every this many new WAL frames (4 MiB of 4 KiB pages) ...
constexpr int checkpoint_step_frames = 1024;
// ... and the WAL is restarted once it holds this many (32 MiB), but only when the checkpointer
// has copied all but restart_backlog_frames of it. The restart copies that rest itself and
// fsyncs the database file while the next batch waits; on a large store those are random pages
// all over the file, so a restart with a whole checkpoint step left (up to 1,024 pages) held
// the batch behind it for over 10 ms, with 128 it is a short copy. Until then the checkpointer
// runs back to back. Past forced_restart_frames (64 MiB; a checkpointer that cannot keep up
// with a full load) the writer restarts whatever is left, as SQLite's own checkpoint would.
constexpr int restart_frames = 8192;
constexpr int restart_backlog_frames = 128;
constexpr int forced_restart_frames = 16384;
}  // namespace

ingest::ingest(store::writer& writer, const config& cfg, live_config& live, std::function<std::int64_t()> clock,
               std::unique_ptr<store::checkpointer> checkpoints)
    : writer_(writer),
      cfg_(cfg),
      live_(live),
      clock_(std::move(clock)),
      segments_(std::make_unique<segment_engine>(live.load()->current)),
      checkpoints_(std::move(checkpoints)) {
  segments_->set_counts(&counts_);
}

void ingest::publish_changes(std::size_t changes) {
  counts_.commit(clock_());
  if (changes > 0 && on_changes_) on_changes_();
}

void ingest::after_commit() {
  if (!checkpoints_) return;
  const int frames = writer_.wal_frames();
  if (frames < checkpoint_requested_at_) checkpoint_requested_at_ = 0;  // the WAL restarted
  if (frames >= restart_frames) {
    int backfilled = 0;
    {
      std::lock_guard lock(checkpoint_mutex_);
      // A report counts only when its run began after the restart's first commit.
      if (checkpoint_served_ > restart_wake_) backfilled = checkpoint_backfilled_;
    }
    if (frames - backfilled <= restart_backlog_frames || frames >= forced_restart_frames) {
      const auto started = std::chrono::steady_clock::now();
      auto restarted = writer_.restart_wal();
      if (!restarted) spdlog::warn("store: WAL restart failed: {}", restarted.error().message());
      if (restarted && *restarted) {
        // The stall a batch may wait behind (bench/README.md measures it with this line).
        spdlog::debug("store: WAL restarted in {} us ({} frames, {} left to copy)",
                      std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count(),
                      frames, frames - backfilled);
        std::lock_guard lock(checkpoint_mutex_);
        restart_wake_ = checkpoint_wakes_;
        checkpoint_requested_at_ = 0;
        return;
      }
      // The checkpointer's run holds the lock: once it ends it stays idle and the next commit
      // restarts (waking it again would start run after run of a few frames and an fsync each).
      if (restarted) return;
    }
  } else if (frames - checkpoint_requested_at_ < checkpoint_step_frames) {
    return;
  }
  checkpoint_requested_at_ = frames;
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_wanted_ = true;
    ++checkpoint_wakes_;
  }
  checkpoint_wake_.notify_one();
}

void ingest::run_checkpoints() {
  name_this_thread("checkpointer");
  make_this_thread_background();
  for (;;) {
    std::uint64_t serving = 0;
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_wake_.wait(lock, [&] { return checkpoint_wanted_ || checkpoints_stopping_; });
      if (checkpoints_stopping_) return;
      checkpoint_wanted_ = false;
      serving = checkpoint_wakes_;
    }
    auto progress = checkpoints_->checkpoint();
    if (!progress) {
      spdlog::warn("store: background checkpoint failed: {}", progress.error().message());
      continue;
    }
    if (progress->backfilled_frames < 0) continue;
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_served_ = serving;
    checkpoint_backfilled_ = progress->backfilled_frames;
  }
}

ingest::~ingest() { stop(); }

void ingest::start() {
  // Before the thread (and before READY): the percentile ranks are loaded and customers that
  // fell due while the daemon was down are current by the time the first query is answered.
  if (auto r = segments_->rebuild_ranks(writer_); !r)
    spdlog::error("segments: loading spends for percentiles failed: {}", r.error().message());
  if (auto r = counts_.rebuild(writer_); !r)
    spdlog::error("segments: counting members failed: {}", r.error().message());
  recompute_at_start();
  run_clock(clock_());
  thread_ = std::thread([this] { run(); });
  if (checkpoints_) checkpoint_thread_ = std::thread([this] { run_checkpoints(); });
}

bool ingest::submit(delivery&& d, completion done, std::optional<std::int64_t> retry_of) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queue_.size() >= cfg_.webhook.max_queue) {
      counters_.count(d.topic, delivery_outcome::overloaded);
      return false;
    }
    queue_.push_back(job{std::move(d), std::move(done), retry_of});
    depth_.store(queue_.size(), std::memory_order_relaxed);
  }
  wake_.notify_one();
  return true;
}

std::optional<std::int64_t> ingest::oldest_waiting_ms() {
  std::lock_guard lock(mutex_);
  for (const auto& j : queue_)
    if (!j.retry_of) return j.d.received_at_ms;  // a retry carries its first reception time
  return std::nullopt;
}

void ingest::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
  reload_worker_.reset();  // a reload cut short: recomputed again at the next start
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoints_stopping_ = true;
  }
  checkpoint_wake_.notify_one();
  if (checkpoint_thread_.joinable()) checkpoint_thread_.join();
}

void ingest::run() {
  name_this_thread("writer");
  std::deque<job> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Wake for the next customer due on the clock, and at least once a minute so retention
      // pruning runs on an idle daemon too.
      // A running import does not wait: its batches go between the deliveries' batches
      // (ingest_import.cpp), as soon as the session has decoded one (feed_import wakes the
      // writer). A running reload's batches do too, as soon as its worker has judged one (it
      // wakes the writer), or once a failed batch may be tried again.
      const std::int64_t retry_in = reload_retry_at_ms_ - now_ms();
      const auto wait = import_ready() ? std::chrono::milliseconds(0)
                        : reloading_   ? std::chrono::milliseconds(retry_in > 0 ? retry_in : 60'000)
                                       : wait_time(clock_());
      wake_.wait_for(lock, wait, [&] {
        return stopping_ || !queue_.empty() || pending_reload_ || import_ready() ||
               (reload_worker_ && now_ms() >= reload_retry_at_ms_ && reload_worker_->has_ready());
      });
      if (queue_.empty() && stopping_) return fail_imports();
      batch.swap(queue_);
      depth_.store(0, std::memory_order_relaxed);
      if (pending_reload_ && !reloading_) begin_reload(std::exchange(pending_reload_, nullptr));
    }
    const std::int64_t now = clock_();
    maybe_prune(now);
    if (!batch.empty()) commit_batch(batch);
    batch.clear();
    import_step();
    if (reloading_) reload_step();
    // The clock waits while a reload runs: the reload re-evaluates everyone anyway.
    else if (next_due_ms_ && *next_due_ms_ <= clock_()) run_clock(clock_());
  }
}

std::chrono::milliseconds ingest::wait_time(std::int64_t now) {
  std::int64_t wait = 60'000;
  if (next_due_ms_) wait = std::clamp<std::int64_t>(*next_due_ms_ - now, 0, wait);
  return std::chrono::milliseconds(wait);
}

void ingest::run_clock(std::int64_t now) {
  constexpr int per_transaction = 1000;  // a tick never holds the writer for long
  for (;;) {
    store::result<evaluation_stats> stats = evaluation_stats{};
    if (auto begun = writer_.begin(); !begun) stats = begun.error();
    if (stats) stats = segments_->tick(writer_, now, per_transaction);
    store::result<void> committed = stats ? writer_.commit() : store::result<void>(stats.error());
    if (!committed) {
      writer_.rollback();
      counts_.rollback();
      forget_written();
      spdlog::error("segments: clock re-evaluation failed: {}", committed.error().message());
      next_due_ms_ = now + 60'000;  // retry in a minute
      return;
    }
    note_commit();
    publish_changes(stats->changes);
    counters_.clock_evaluations.fetch_add(stats->evaluated, std::memory_order_relaxed);
    counters_.membership_changes.fetch_add(stats->changes, std::memory_order_relaxed);
    if (stats->evaluated < per_transaction) break;
  }
  auto next = writer_.earliest_next_change();
  next_due_ms_ = next ? *next : std::optional<std::int64_t>(now + 60'000);
}

void ingest::apply_redact_counts(const delivery& d) {
  if (std::holds_alternative<shopify::shop_redact>(*d.event)) return counts_.clear_shop(d.shop);
  const auto* redact = std::get_if<shopify::customer_redact>(&*d.event);
  if (!redact) return;
  // The erasure removes the row without logging leaves: its memberships stop counting here.
  auto was_in = writer_.memberships(d.shop, redact->customer_id);
  if (!was_in) throw boost::system::system_error(was_in.error());
  for (const auto& segment : *was_in) counts_.add(d.shop, segment, -1);
}

ingest_status ingest::apply_one(job& j, bool& erased) {
  const delivery& d = j.d;
  if (j.retry_of) {
    auto found = d.event ? writer_.release_quarantined(*j.retry_of) : writer_.requarantine(*j.retry_of, d.quarantine_reason);
    if (!found) throw boost::system::system_error(found.error());
    if (!*found) return ingest_status::not_found;
    if (!d.event) return ingest_status::quarantined;
  } else if (!d.event) {
    auto q = writer_.quarantine(d.shop, d.webhook_id, d.topic_name, d.api_version,
                                d.received_at_ms, d.quarantine_reason, d.body);
    if (!q) throw boost::system::system_error(q.error());
    return ingest_status::quarantined;
  }
  auto claimed = writer_.claim_delivery(d.shop, d.webhook_id, d.topic_name, d.received_at_ms);
  if (!claimed) throw boost::system::system_error(claimed.error());
  if (!*claimed) return ingest_status::duplicate;
  apply_redact_counts(d);
  auto applied = apply_event(writer_, d.shop, d.webhook_id, d.received_at_ms, *d.event);
  if (!applied) throw boost::system::system_error(applied.error());
  erased = erased || applied->erased;
  if (applied->outcome == store::outcome::stale || applied->outcome == store::outcome::tombstoned) {
    counters_.stale.fetch_add(1, std::memory_order_relaxed);
    j.stale = true;
  }
  if (cfg_.store.keep_raw_bodies_days > 0) {
    if (auto r = writer_.keep_raw_body(d.shop, d.webhook_id, d.body); !r)
      throw boost::system::system_error(r.error());
  }
  return ingest_status::committed;
}

void ingest::count_outcome(const job& j) {
  if (j.retry_of) counters_.retries.fetch_add(1, std::memory_order_relaxed);
  delivery_outcome o = delivery_outcome::applied;
  switch (j.status) {
    case ingest_status::committed:
      counters_.committed.fetch_add(1, std::memory_order_relaxed);
      o = j.stale ? delivery_outcome::stale : delivery_outcome::applied;
      break;
    case ingest_status::duplicate:
      counters_.duplicates.fetch_add(1, std::memory_order_relaxed);
      o = delivery_outcome::duplicate;
      break;
    case ingest_status::quarantined:
      if (j.retry_of) return;  // it was counted when it first came
      counters_.quarantined.fetch_add(1, std::memory_order_relaxed);
      o = delivery_outcome::quarantined;
      break;
    case ingest_status::not_found: return;
    case ingest_status::storage_full:
    case ingest_status::failed: o = delivery_outcome::failed; break;
  }
  counters_.count(j.d.topic, o);
}

void ingest::commit_batch(std::deque<job>& batch) {
  bool erased = false;
  ingest_status failure = ingest_status::committed;
  std::size_t changes = 0;
  const auto started = std::chrono::steady_clock::now();
  try {
    if (auto r = writer_.begin(); !r) throw boost::system::system_error(r.error());
    // Each customer is re-evaluated with the webhook id of the first delivery that touched it.
    std::vector<evaluation_request> requests;
    for (auto& j : batch) {
      j.status = apply_one(j, erased);
      const auto& touched = writer_.touched();
      for (std::size_t i = requests.size(); i < touched.size(); ++i) requests.push_back({touched[i], j.d.webhook_id});
    }
    // The refreshed rows are kept for the segment evaluation only when there is one to run.
    const bool evaluates =
        !segments_->cfg().segments.empty() || (reloading_ && !reloading_->cfg().segments.empty());
    if (auto r = writer_.refresh_aggregates(evaluates); !r)
      throw boost::system::system_error(r.error());
    auto evaluated = evaluate_touched(requests, clock_());
    if (!evaluated) throw boost::system::system_error(evaluated.error());
    counters_.evaluations.fetch_add(evaluated->evaluated, std::memory_order_relaxed);
    if (evaluated->earliest_next_change && (!next_due_ms_ || *evaluated->earliest_next_change < *next_due_ms_))
      next_due_ms_ = evaluated->earliest_next_change;
    counters_.membership_changes.fetch_add(evaluated->changes, std::memory_order_relaxed);
    changes = evaluated->changes;
    if (auto r = writer_.commit(); !r) throw boost::system::system_error(r.error());
    note_commit();
    counters_.commit_seconds.observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    counters_.batch_size.observe(static_cast<double>(batch.size()));
    publish_changes(changes);
  } catch (const boost::system::system_error& e) {
    // Nothing of the batch is stored: every delivery in it is answered 503 and Shopify retries.
    writer_.rollback();
    counts_.rollback();
    forget_written();
    // The in-memory spend ranks may have moved with the rolled-back rows: reload them.
    (void)segments_->rebuild_ranks(writer_);
    if (reloading_) (void)reloading_->rebuild_ranks(writer_);
    failure = store::is_disk_full(e.code()) ? ingest_status::storage_full : ingest_status::failed;
    spdlog::error("store: commit of {} deliveries failed: {}", batch.size(), e.code().message());
    counters_.failures.fetch_add(batch.size(), std::memory_order_relaxed);
  }
  if (erased && failure == ingest_status::committed) {
    // Erased PII must leave the WAL file too, not only the main database, before the redact
    // is acknowledged.
    if (auto r = writer_.checkpoint_truncate(); !r)
      spdlog::warn("store: checkpoint after redact failed: {}", r.error().message());
  }
  counters_.batches.fetch_add(1, std::memory_order_relaxed);
  for (auto& j : batch) {
    if (failure != ingest_status::committed) j.status = failure;
    count_outcome(j);
    j.done(j.status);
  }
  if (failure == ingest_status::committed) after_commit();
}

void ingest::maybe_prune(std::int64_t now) {
  if (now < next_prune_ms_) return;
  next_prune_ms_ = now + 60'000;
  store::retention keep{cfg_.store.dedup_retention_days, cfg_.store.change_log_retention_days,
                        cfg_.store.keep_raw_bodies_days};
  auto begun = writer_.begin();
  auto pruned = begun ? writer_.prune(now, keep) : store::result<std::int64_t>(begun.error());
  auto committed = pruned ? writer_.commit() : store::result<void>(pruned.error());
  if (!committed) {
    writer_.rollback();
    spdlog::warn("store: retention pruning failed: {}", committed.error().message());
  } else if (*pruned > 0) {
    spdlog::info("store: pruned {} expired rows", *pruned);
  }
}

}  // namespace shopsegd

// Imports on the writer thread. A chunk is applied import_batch_records at a time, each batch
// one transaction, as soon as the session has decoded the whole batch (import_feed):
// store::writer::import_batch applies its records with the webhook rules (version guard,
// tombstones, merge aliases; records of which nothing is stored are built in memory and
// written once each) and refreshes the aggregates of the customers it touched, then
// those customers' segments are evaluated, cause "import". The run loop commits the deliveries
// queued meanwhile between two batches, so an import holds ingest up for one batch at most.
// The progress row of the chunk's file is written in the transaction of its last batch: it
// never runs ahead of what is stored, and nothing is left to finish after a commit (no
// deferred aggregates or memberships), so a crash loses at most the batch in flight.
#include <spdlog/spdlog.h>

#include "apply.hpp"
#include "ingest.hpp"

namespace shopsegd {
namespace {

// Records per transaction: a few tens of milliseconds of the writer (fewer, larger commits:
// each rewrites the b-trees' interior pages and waits for one fsync).
constexpr std::size_t import_batch_records = 8000;
// Chunks waiting beyond the running one: a client sends one at a time, so this bounds memory
// against many parallel imports.
constexpr std::size_t max_waiting_imports = 8;
const std::string import_cause = "import";

// The records a batch waits for while its chunk is still being decoded. A chunk's first batch
// starts on the first piece the session hands over: the writer is idle from the previous
// chunk's last commit until then (the client sends the next chunk once it has the answer), and
// waiting for a whole batch of 8,000 decoded records kept it idle that much longer on every
// chunk. Later batches are whole: the session decodes faster than the writer applies, so they
// find one ready (a batch still holds ingest up for no longer than before).
std::size_t import_batch_wanted(const import_job& job) {
  return job.next == 0 ? import_feed_records : import_batch_records;
}

}  // namespace

std::string import_progress_key(std::string_view shop, std::string_view file) {
  std::string key = "import:";
  key.append(shop).append(":").append(file);
  return key;
}

bool ingest::submit_import(import_chunk&& chunk, import_completion done) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || imports_.size() >= max_waiting_imports) return false;
    auto job = std::make_unique<import_job>();
    job->chunk = std::move(chunk);
    job->done = std::move(done);
    imports_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ingest::feed_import(import_feed& feed, std::vector<store::import_item>&& more, bool last) {
  {
    std::lock_guard lock(mutex_);
    if (feed.ready.empty())
      feed.ready = std::move(more);
    else
      feed.ready.insert(feed.ready.end(), std::make_move_iterator(more.begin()),
                        std::make_move_iterator(more.end()));
    feed.sealed = last;
  }
  wake_.notify_one();
}

bool ingest::import_ready() const {
  if (!importing_) return !imports_.empty();
  const import_job& job = *importing_;
  const import_feed* feed = job.chunk.feed.get();
  return !feed || feed->sealed ||
         job.chunk.events.size() - job.next + feed->ready.size() >= import_batch_wanted(job);
}

void ingest::fail_imports() {
  if (importing_) imports_.push_front(std::move(importing_));
  for (auto& job : imports_) {
    job->result.failure = ingest_status::failed;
    job->done(std::move(job->result));
  }
  imports_.clear();
}

bool ingest::import_step() {
  if (!importing_) {
    std::lock_guard lock(mutex_);
    if (imports_.empty()) return false;
    importing_ = std::move(imports_.front());
    imports_.pop_front();
  }
  import_job& job = *importing_;
  auto& events = job.chunk.events;
  // The records the session decoded meanwhile; a batch waits until it is whole or the chunk is.
  bool whole = true;
  if (import_feed* feed = job.chunk.feed.get()) {
    std::lock_guard lock(mutex_);
    events.insert(events.end(), std::make_move_iterator(feed->ready.begin()),
                  std::make_move_iterator(feed->ready.end()));
    feed->ready.clear();
    whole = feed->sealed;
  }
  if (!whole && events.size() - job.next < import_batch_wanted(job)) return true;
  const std::size_t end = std::min(events.size(), job.next + import_batch_records);
  std::size_t imported = 0, unchanged = 0, changes = 0;
  try {
    if (auto r = writer_.begin(); !r) throw boost::system::system_error(r.error());
    if (auto r = writer_.ensure_shop(job.chunk.shop); !r) throw boost::system::system_error(r.error());
    if (job.next == 0 && !job.chunk.progress_key.empty()) {
      auto stored = writer_.setting(job.chunk.progress_key);
      if (!stored) throw boost::system::system_error(stored.error());
      job.result.progress = *stored;
    }
    const std::int64_t now = clock_();
    // The batch's records as the store takes them (moved out: a failed batch ends the chunk).
    std::vector<store::import_item> items;
    items.reserve(end - job.next);
    for (std::size_t i = job.next; i < end; ++i) {
      store::import_item& item = events[i];
      // As apply_event does for every order, stale or not: the shop takes its currency.
      if (item.order && !item.order->currency.empty()) {
        if (auto r = writer_.ensure_shop(job.chunk.shop, item.order->currency); !r)
          throw boost::system::system_error(r.error());
      }
      items.push_back(std::move(item));
    }
    // Applies the batch and refreshes the aggregates of what it touched (writer_import.cpp).
    auto outcomes = writer_.import_batch(job.chunk.shop, items);
    if (!outcomes) throw boost::system::system_error(outcomes.error());
    for (store::outcome o : *outcomes) (o == store::outcome::applied ? imported : unchanged) += 1;
    std::vector<evaluation_request> requests;
    requests.reserve(writer_.touched().size());
    for (const auto& key : writer_.touched()) requests.push_back({key, import_cause});
    auto evaluated = evaluate_touched(requests, now);
    if (!evaluated) throw boost::system::system_error(evaluated.error());
    changes = evaluated->changes;
    counters_.evaluations.fetch_add(evaluated->evaluated, std::memory_order_relaxed);
    counters_.membership_changes.fetch_add(changes, std::memory_order_relaxed);
    if (evaluated->earliest_next_change && (!next_due_ms_ || *evaluated->earliest_next_change < *next_due_ms_))
      next_due_ms_ = evaluated->earliest_next_change;
    if (whole && end == events.size() && !job.chunk.progress_value.empty()) {
      if (auto r = writer_.set_setting(job.chunk.progress_key, job.chunk.progress_value); !r)
        throw boost::system::system_error(r.error());
    }
    if (auto r = writer_.commit(); !r) throw boost::system::system_error(r.error());
    note_commit();
  } catch (const boost::system::system_error& e) {
    // This batch is not stored; the batches before it are (each was whole), and the progress
    // row still names the end of the previous chunk, so a resume sends this chunk again.
    writer_.rollback();
    counts_.rollback();
    forget_written();
    (void)segments_->rebuild_ranks(writer_);
    if (reloading_) (void)reloading_->rebuild_ranks(writer_);
    spdlog::error("store: import batch of {} records failed: {}", end - job.next, e.code().message());
    job.result.failure = store::is_disk_full(e.code()) ? ingest_status::storage_full : ingest_status::failed;
    job.done(std::move(job.result));
    importing_.reset();
    return false;
  }
  publish_changes(changes);
  after_commit();
  job.result.imported += imported;
  job.result.unchanged += unchanged;
  job.result.applied = end;
  job.next = end;
  if (end < events.size() || !whole) return true;
  job.done(std::move(job.result));
  importing_.reset();
  return false;
}

}  // namespace shopsegd

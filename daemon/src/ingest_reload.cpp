// Reloading segment definitions without stalling ingest. A worker thread walks the customers in
// key order, 4,000 per read snapshot, and judges them under the new definitions
// (reload_worker.hpp); the writer applies each judged batch in a transaction of its own between
// the deliveries' batches, writing only what moved. A customer the reload passed is answered
// (and evaluated on new deliveries) with the new definitions, any other with the old ones. The
// stored fingerprint says which definitions the memberships follow, so a daemon restarted with
// changed segments recomputes before it is ready.
//
// Ordering: a batch was judged from a snapshot that holds every commit counted before it
// began. Every commit while the reload runs counts itself and remembers the customers it wrote
// that the reload has not passed (written_at_), so the writer, applying a batch, evaluates
// again itself every customer of the batch's key range written by a commit the snapshot may
// not hold, under the new definitions, from its own reads; the rest are written as judged
// (segments_reload.cpp says why that is exact, percentiles included). Until its batch is
// applied, a customer's deliveries are evaluated by the old engine, whose answers it is
// rendered with.
#include <spdlog/spdlog.h>

#include <thread>

#include "ingest.hpp"

namespace shopsegd {
namespace {
// Customers per batch. Larger batches mean fewer commits, and each commit writes every page of
// the next-change index the batch touched (a reload that moves every next change spreads them
// over hundreds of pages): 4,000 cut the writer's time by a quarter against 1,000. A batch that
// makes every membership new holds the writer for tens of milliseconds.
constexpr int reload_batch = 4000;
constexpr const char* fingerprint_setting = "segments_fingerprint";
}  // namespace

void ingest::request_reload(std::shared_ptr<const config> next) {
  {
    std::lock_guard lock(mutex_);
    pending_reload_ = std::move(next);
  }
  wake_.notify_one();
}

void ingest::publish_epoch() {
  if (reloading_)
    live_.publish({reloading_->cfg_ptr(), segments_->cfg_ptr(), reload_done_through_});
  else
    live_.publish({segments_->cfg_ptr(), nullptr, std::nullopt});
}

bool ingest::reload_passed(const store::customer_key& key) const {
  return reload_finishing_ || (reload_done_through_ && key <= *reload_done_through_);
}

void ingest::note_commit() {
  const std::uint64_t count = commits_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (reloading_)
    for (auto& key : written_log_)
      if (!reload_passed(key)) written_at_[std::move(key)] = count;
  written_log_.clear();
}

store::result<evaluation_stats> ingest::evaluate_touched(std::vector<evaluation_request>& requests,
                                                         std::int64_t now) {
  if (!reloading_) return segments_->evaluate(writer_, requests, now);
  std::vector<evaluation_request> old_side, new_side;
  for (auto& r : requests) {
    written_log_.push_back(r.key);
    (reload_passed(r.key) ? new_side : old_side).push_back(std::move(r));
  }
  auto evaluated = segments_->evaluate(writer_, old_side, now);
  if (!evaluated) return evaluated;
  auto fresh = reloading_->evaluate(writer_, new_side, now);
  if (!fresh) return fresh.error();
  auto followed = reloading_->follow_spends(writer_, old_side, now);
  if (!followed) return followed.error();
  for (const evaluation_stats* more : {&*fresh, &*followed}) {
    evaluated->evaluated += more->evaluated;
    evaluated->changes += more->changes;
    if (more->earliest_next_change &&
        (!evaluated->earliest_next_change ||
         *more->earliest_next_change < *evaluated->earliest_next_change))
      evaluated->earliest_next_change = more->earliest_next_change;
  }
  return evaluated;
}

void ingest::begin_reload(std::shared_ptr<const config> next) {
  reloading_ = std::make_unique<segment_engine>(std::move(next));
  reloading_->set_counts(&counts_);
  reload_done_through_.reset();
  reload_finishing_ = false;
  reload_evaluated_ = reload_changes_ = 0;
  reload_started_ms_ = now_ms();
  if (auto r = reloading_->rebuild_ranks(writer_); !r) {
    spdlog::error("reload: loading spends failed: {}; the running segments stay", r.error().message());
    reloading_.reset();
    return;
  }
  // Each engine re-evaluates, when a percentile threshold moves, only the customers it owns.
  segments_->set_scope([this](const store::customer_key& k) { return !reload_passed(k); });
  reloading_->set_scope([this](const store::customer_key& k) { return reload_passed(k); });
  segments_->set_written_log(&written_log_);
  reloading_->set_written_log(&written_log_);
  written_log_.clear();
  written_at_.clear();
  reload_worker_ = std::make_unique<reload_worker>(
      writer_.path(), *reloading_, commits_, clock_,
      [this] {
        std::lock_guard lock(mutex_);  // the writer checks has_ready() under it: no lost wake-up
        wake_.notify_one();
      },
      reload_batch);
  reload_running_.store(true, std::memory_order_relaxed);
  spdlog::info("reload: recomputing every customer's segments ({} defined)", reloading_->cfg().segments.size());
  publish_epoch();
}

void ingest::reload_step(bool wait) {
  if (now_ms() < reload_retry_at_ms_) {
    if (!wait) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(reload_retry_at_ms_ - now_ms()));
  }
  auto batch = reload_worker_->take(wait);
  if (!batch) return;
  // The customers of the batch's range that commits after its snapshot wrote.
  std::vector<store::customer_key> written;
  for (auto it = batch->after ? written_at_.upper_bound(*batch->after) : written_at_.begin();
       it != written_at_.end() && (!batch->through || it->first <= *batch->through); ++it)
    if (it->second > batch->snapshot_after) written.push_back(it->first);
  // From this transaction on the batch's customers are the new engine's (its percentile
  // crossings reach them); undone if it fails.
  const auto passed_before = reload_done_through_;
  if (batch->through)
    reload_done_through_ = batch->through;
  else
    reload_finishing_ = true;
  auto failed = [&](const boost::system::error_code& ec) {
    writer_.rollback();
    counts_.rollback();
    forget_written();
    reload_done_through_ = passed_before;
    reload_finishing_ = false;
    (void)segments_->rebuild_ranks(writer_);
    (void)reloading_->rebuild_ranks(writer_);
    reload_worker_->put_back(std::move(*batch));
    // A store that fails (a full disk) is retried a second later, not in a busy loop.
    reload_retry_at_ms_ = now_ms() + 1000;
    spdlog::error("reload: a recompute batch failed ({}); retrying in a second", ec.message());
  };
  if (auto b = writer_.begin(); !b) return failed(b.error());
  auto stats = reloading_->apply_reloaded(writer_, batch->customers, written, clock_());
  if (!stats) return failed(stats.error());
  if (reload_finishing_) {
    if (auto r = writer_.set_setting(fingerprint_setting, segments_fingerprint(reloading_->cfg()));
        !r)
      return failed(r.error());
  }
  if (auto c = writer_.commit(); !c) return failed(c.error());
  note_commit();
  publish_changes(stats->changes);
  reload_evaluated_ += stats->evaluated;
  reload_changes_ += stats->changes;
  counters_.membership_changes.fetch_add(stats->changes, std::memory_order_relaxed);
  if (reload_finishing_) return finish_reload();
  written_at_.erase(written_at_.begin(), written_at_.upper_bound(*reload_done_through_));
  publish_epoch();
}

void ingest::finish_reload() {
  reload_worker_.reset();  // its walk has ended
  segments_ = std::move(reloading_);
  segments_->set_scope(nullptr);
  segments_->set_written_log(nullptr);
  written_at_.clear();
  reload_done_through_.reset();
  reload_finishing_ = false;
  reload_running_.store(false, std::memory_order_relaxed);
  publish_epoch();
  spdlog::info("reload: done: {} customers evaluated, {} membership changes, {} ms", reload_evaluated_,
               reload_changes_, now_ms() - reload_started_ms_);
  // The new definitions may have brought customers due earlier.
  auto next = writer_.earliest_next_change();
  next_due_ms_ = next ? *next : std::nullopt;
}

void ingest::recompute_at_start() {
  const std::string wanted = segments_fingerprint(segments_->cfg());
  auto stored = writer_.setting(fingerprint_setting);
  if (stored && *stored && **stored == wanted) return;
  // First start, or the segments changed while the daemon was down: recompute before READY so
  // that no answer mixes memberships of two definitions.
  begin_reload(segments_->cfg_ptr());
  while (reloading_) reload_step(true);
}

}  // namespace shopsegd

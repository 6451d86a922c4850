// Reloading segment definitions without stalling ingest. The recompute walks the customers in
// key order, 1,000 per transaction, each batch between the deliveries' batches; a customer the
// walk passed is answered (and evaluated on new deliveries) with the new definitions, any
// other with the old ones. The stored fingerprint says which definitions the memberships
// follow, so a daemon restarted with changed segments recomputes before it is ready.
#include <spdlog/spdlog.h>

#include "ingest.hpp"

namespace shopsegd {
namespace {
constexpr int reload_batch = 1000;
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

void ingest::begin_reload(std::shared_ptr<const config> next) {
  reloading_ = std::make_unique<segment_engine>(std::move(next));
  reloading_->set_counts(&counts_);
  reload_done_through_.reset();
  reload_evaluated_ = reload_changes_ = 0;
  reload_started_ms_ = now_ms();
  if (auto r = reloading_->rebuild_ranks(writer_); !r) {
    spdlog::error("reload: loading spends failed: {}; the running segments stay", r.error().message());
    reloading_.reset();
    return;
  }
  reload_running_.store(true, std::memory_order_relaxed);
  spdlog::info("reload: recomputing every customer's segments ({} defined)", reloading_->cfg().segments.size());
  publish_epoch();
}

void ingest::reload_step() {
  std::optional<store::customer_key> last;
  std::size_t batch_size = 0;
  auto failed = [&](const boost::system::error_code& ec) {
    writer_.rollback();
    counts_.rollback();
    // A store that fails (a full disk) is retried a second later, not in a busy loop.
    reload_retry_at_ms_ = now_ms() + 1000;
    spdlog::error("reload: a recompute batch failed ({}); retrying in a second", ec.message());
  };
  if (now_ms() < reload_retry_at_ms_) return;
  if (auto b = writer_.begin(); !b) return failed(b.error());
  auto keys = writer_.customers_after(reload_done_through_, reload_batch);
  if (!keys) return failed(keys.error());
  std::vector<evaluation_request> requests;
  for (auto& k : *keys) requests.push_back({std::move(k), "reload"});
  auto stats = reloading_->evaluate(writer_, requests, clock_());
  if (!stats) return failed(stats.error());
  batch_size = requests.size();
  if (!requests.empty()) last = requests.back().key;
  const bool finished = batch_size < static_cast<std::size_t>(reload_batch);
  if (finished) {
    if (auto r = writer_.set_setting(fingerprint_setting, segments_fingerprint(reloading_->cfg())); !r)
      return failed(r.error());
  }
  if (auto c = writer_.commit(); !c) return failed(c.error());
  publish_changes(stats->changes);
  reload_evaluated_ += stats->evaluated;
  reload_changes_ += stats->changes;
  counters_.membership_changes.fetch_add(stats->changes, std::memory_order_relaxed);
  if (last) reload_done_through_ = last;
  if (!finished) {
    publish_epoch();
    return;
  }
  segments_ = std::move(reloading_);
  reload_done_through_.reset();
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
  while (reloading_) reload_step();
}

}  // namespace shopsegd

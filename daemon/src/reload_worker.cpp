// The reload's worker thread (see reload_worker.hpp). A snapshot per batch, not one for the
// whole walk: a read transaction held for the whole reload would keep every frame the writer
// commits meanwhile in the WAL (no checkpoint can pass an open snapshot, nor can the WAL
// restart), and the WAL would grow by the whole reload's writes.
#include "reload_worker.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

#include "store/reader.hpp"
#include "threads.hpp"

namespace shopsegd {
namespace {
// How many judged batches may wait for the writer: one to apply while the next is judged.
constexpr std::size_t batches_ahead = 2;
}  // namespace

reload_worker::reload_worker(std::string path, const segment_engine& engine,
                             const std::atomic<std::uint64_t>& commits,
                             std::function<std::int64_t()> clock, std::function<void()> ready,
                             int batch_size)
    : path_(std::move(path)),
      engine_(engine),
      commits_(commits),
      clock_(std::move(clock)),
      ready_(std::move(ready)),
      batch_size_(batch_size),
      thread_([this] { run(); }) {}

reload_worker::~reload_worker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool reload_worker::has_ready() {
  std::lock_guard lock(mutex_);
  return !queue_.empty();
}

std::optional<reload_worker::batch> reload_worker::take(bool wait) {
  std::unique_lock lock(mutex_);
  if (wait) changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
  if (queue_.empty()) return std::nullopt;
  batch b = std::move(queue_.front());
  queue_.pop_front();
  lock.unlock();
  changed_.notify_all();  // room for the next batch
  return b;
}

void reload_worker::put_back(batch b) {
  {
    std::lock_guard lock(mutex_);
    queue_.push_front(std::move(b));
  }
  changed_.notify_all();
}

bool reload_worker::judge_next(const std::optional<store::customer_key>& after, batch& out) {
  auto& reader = reader_;  // the worker thread's alone
  if (!reader) {
    auto opened = store::reader::open(path_);
    if (!opened) {
      spdlog::error("reload: opening the store for reading failed: {}", opened.error().message());
      return false;
    }
    reader = std::move(*opened);
  }
  out.after = after;
  // Read before the snapshot begins: every commit counted by then is in it.
  out.snapshot_after = commits_.load(std::memory_order_acquire);
  if (auto b = reader->begin(); !b) {
    spdlog::error("reload: a read transaction failed: {}", b.error().message());
    return false;
  }
  auto found = reader->customers_after(after, batch_size_);
  reader->end();
  if (!found) {
    spdlog::error("reload: reading customers failed: {}", found.error().message());
    return false;
  }
  const std::int64_t now = clock_();
  out.customers.reserve(found->size());
  for (const auto& c : *found) out.customers.push_back(engine_.judge_snapshot(c, now));
  if (found->size() == static_cast<std::size_t>(batch_size_))
    out.through = out.customers.back().key;
  return true;
}

void reload_worker::run() {
  name_this_thread("reloader");
  std::optional<store::customer_key> after;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || queue_.size() < batches_ahead; });
      if (stopping_) return;
    }
    batch b;
    if (!judge_next(after, b)) {
      // A failing store (a full disk, say) is tried again a second later.
      std::unique_lock lock(mutex_);
      changed_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
      continue;
    }
    const bool last = !b.through;
    after = b.through;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(b));
    }
    changed_.notify_all();
    ready_();
    if (last) return;
  }
}

}  // namespace shopsegd

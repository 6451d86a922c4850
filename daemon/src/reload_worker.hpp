// A reload's second thread: walks the customers in key order, each batch from one read snapshot
// of its own connection, and judges them under the new segments (segment_engine::judge_snapshot)
// a few batches ahead of the writer, which applies them (segment_engine::apply_reloaded). The
// writer thus spends its time only on what moves, and the reads and the rules run on the other
// core. Thread-safe: the writer calls take() and put_back() while the worker runs.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "segments.hpp"

namespace store {
class reader;
}

namespace shopsegd {

class reload_worker {
 public:
  struct batch {
    std::vector<reloaded_customer> customers;  // in key order
    // The key range the batch covers: (after, through]; through is nullopt for the last batch,
    // which covers everything after `after`.
    std::optional<store::customer_key> after, through;
    // Every writer commit numbered up to this one is in the batch's snapshot (the count was
    // read before the snapshot began; later commits may be in it or not).
    std::uint64_t snapshot_after = 0;
  };

  // Starts the thread on the store at `path`. `commits` is the writer's count of commits;
  // `ready` is called on the worker thread (no lock held) whenever a batch is queued.
  reload_worker(std::string path, const segment_engine& engine,
                const std::atomic<std::uint64_t>& commits, std::function<std::int64_t()> clock,
                std::function<void()> ready, int batch_size = 1000);
  ~reload_worker();  // stops and joins
  reload_worker(const reload_worker&) = delete;
  reload_worker& operator=(const reload_worker&) = delete;

  bool has_ready();
  // The oldest queued batch; with `wait`, blocks until there is one.
  std::optional<batch> take(bool wait);
  // A batch the writer could not apply, to be taken again first.
  void put_back(batch b);

 private:
  void run();
  // Reads and judges the customers after `after`; false (and logged) when the store failed.
  bool judge_next(const std::optional<store::customer_key>& after, batch& out);

  const std::string path_;
  const segment_engine& engine_;
  const std::atomic<std::uint64_t>& commits_;
  std::function<std::int64_t()> clock_;
  std::function<void()> ready_;
  const int batch_size_;
  std::unique_ptr<store::reader> reader_;  // opened and used by the worker thread
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<batch> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace shopsegd

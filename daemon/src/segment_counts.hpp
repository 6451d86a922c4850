// Member counts per segment and shop, kept in memory by the writer from the membership changes
// it already computes (so /v1/segments neither scans the customers nor costs a write per
// delivery). Rebuilt at start by one scan. Changes of a transaction are pending until its
// commit and dropped by a rollback. The committed counts sit behind a mutex that the writer
// takes once per commit with changes, and a reader only to copy them (a listing or a scrape),
// so no commit copies the counts.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/writer.hpp"

namespace shopsegd {

struct segment_count_snapshot {
  // segment -> shop -> members (entries that fell to zero are removed)
  std::map<std::string, std::map<std::string, std::int64_t>, std::less<>> members;
  std::int64_t total(std::string_view segment) const;
};

class segment_counts {
 public:

  // Writer thread. Replaces every count with a scan of the stored memberships.
  store::result<void> rebuild(store::writer& w);
  // Writer thread: a change of the open transaction.
  void add(const std::string& shop, const std::string& segment, std::int64_t delta);
  // Writer thread: the shop was erased (shop/redact) in the open transaction.
  void clear_shop(const std::string& shop);
  // Writer thread: the transaction committed (at `at_ms`) or rolled back.
  void commit(std::int64_t at_ms);
  void rollback() noexcept;

  // Any thread. `committed_at_ms`: the last commit the counts follow (0: only the start scan).
  std::shared_ptr<const segment_count_snapshot> load() const;
  std::int64_t committed_at_ms() const noexcept { return committed_at_ms_.load(std::memory_order_acquire); }

 private:
  struct change {
    std::string shop;
    std::string segment;  // empty: clear the shop
    std::int64_t delta;
  };
  std::vector<change> pending_;  // writer thread only
  mutable std::mutex mutex_;
  segment_count_snapshot counts_;  // guarded by mutex_
  std::atomic<std::int64_t> committed_at_ms_{0};
};

}  // namespace shopsegd

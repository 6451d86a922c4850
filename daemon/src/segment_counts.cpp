// Segment member counts (see segment_counts.hpp).
#include "segment_counts.hpp"

namespace shopsegd {

std::int64_t segment_count_snapshot::total(std::string_view segment) const {
  auto it = members.find(segment);
  if (it == members.end()) return 0;
  std::int64_t n = 0;
  for (const auto& [shop, count] : it->second) n += count;
  return n;
}

store::result<void> segment_counts::rebuild(store::writer& w) {
  segment_count_snapshot fresh;
  auto scanned = w.for_each_membership([&](std::string_view shop, const std::vector<std::string>& segments) {
    for (const auto& s : segments) ++fresh.members[s][std::string(shop)];
  });
  if (!scanned) return scanned.error();
  pending_.clear();
  std::lock_guard lock(mutex_);
  counts_ = std::move(fresh);
  return {};
}

void segment_counts::add(const std::string& shop, const std::string& segment, std::int64_t delta) {
  pending_.push_back({shop, segment, delta});
}

void segment_counts::clear_shop(const std::string& shop) { pending_.push_back({shop, {}, 0}); }

void segment_counts::commit(std::int64_t at_ms) {
  committed_at_ms_.store(at_ms, std::memory_order_release);
  if (pending_.empty()) return;
  std::lock_guard lock(mutex_);
  for (const auto& c : pending_) {
    if (c.segment.empty()) {
      for (auto& [segment, shops] : counts_.members) shops.erase(c.shop);
      continue;
    }
    auto& shops = counts_.members[c.segment];
    if ((shops[c.shop] += c.delta) <= 0) shops.erase(c.shop);
  }
  pending_.clear();
}

void segment_counts::rollback() noexcept { pending_.clear(); }

std::shared_ptr<const segment_count_snapshot> segment_counts::load() const {
  std::lock_guard lock(mutex_);
  return std::make_shared<const segment_count_snapshot>(counts_);
}

}  // namespace shopsegd

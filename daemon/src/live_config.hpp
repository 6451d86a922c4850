// The reloadable configuration as every thread sees it. A reload recomputes memberships in
// customer-key order, batch by batch; until it finishes, a customer already recomputed is
// answered with the new segments and any other with the old ones, so an answer never mixes
// the two. Thread-safe: the epoch is swapped under a mutex and read as an immutable snapshot.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

#include "config.hpp"
#include "store/records.hpp"

namespace shopsegd {

struct config_epoch {
  std::shared_ptr<const config> current;   // in force (for recomputed customers during a reload)
  std::shared_ptr<const config> previous;  // non-null only while a reload runs
  std::optional<store::customer_key> done_through;  // the reload's progress (nullopt: none yet)

  const config& for_customer(const store::customer_key& key) const {
    if (!previous) return *current;
    return done_through && key <= *done_through ? *current : *previous;
  }
};

class live_config {
 public:
  explicit live_config(std::shared_ptr<const config> initial)
      : epoch_(std::make_shared<const config_epoch>(config_epoch{std::move(initial), nullptr, std::nullopt})) {}

  std::shared_ptr<const config_epoch> load() const {
    std::lock_guard lock(mutex_);
    return epoch_;
  }
  void publish(config_epoch next) {
    auto fresh = std::make_shared<const config_epoch>(std::move(next));
    std::lock_guard lock(mutex_);
    epoch_ = std::move(fresh);
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const config_epoch> epoch_;
};

// A fingerprint of the segment definitions (names, tiers, queries): stored memberships were
// computed with the definitions of this fingerprint.
std::string segments_fingerprint(const config& cfg);

}  // namespace shopsegd

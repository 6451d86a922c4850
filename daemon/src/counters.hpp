// Counters for /metrics, written on the hot paths: relaxed atomics only (no locks), each with a
// single writer thread or commutative increments, read by the query thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "shopify/decode.hpp"

namespace shopsegd {

// What became of a delivery, as /metrics labels it.
enum class delivery_outcome { applied, stale, duplicate, quarantined, failed, overloaded };
inline constexpr std::size_t delivery_outcomes = 6;
inline constexpr std::size_t topic_count = static_cast<std::size_t>(shopify::topic::unknown) + 1;
const char* outcome_label(delivery_outcome o) noexcept;

// A Prometheus histogram with fixed upper bounds (the +Inf bucket is implicit). observe() is
// for one writing thread; reads may see a bucket and the count a moment apart.
template <std::size_t N>
struct histogram {
  std::array<double, N> bounds;
  std::array<std::atomic<std::uint64_t>, N + 1> buckets{};
  std::atomic<std::uint64_t> count{0};
  std::atomic<double> sum{0};

  void observe(double v) noexcept {
    std::size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    buckets[i].fetch_add(1, std::memory_order_relaxed);
    count.fetch_add(1, std::memory_order_relaxed);
    sum.store(sum.load(std::memory_order_relaxed) + v, std::memory_order_relaxed);  // one writer
  }
};

struct ingest_counters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> committed{0};
  std::atomic<std::uint64_t> duplicates{0};
  std::atomic<std::uint64_t> stale{0};
  std::atomic<std::uint64_t> quarantined{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> evaluations{0};       // customers evaluated after deliveries
  std::atomic<std::uint64_t> clock_evaluations{0};  // customers evaluated because time passed
  std::atomic<std::uint64_t> membership_changes{0};
  std::atomic<std::uint64_t> retries{0};  // quarantined deliveries retried by the operator
  // Deliveries by topic and outcome.
  std::array<std::array<std::atomic<std::uint64_t>, delivery_outcomes>, topic_count> deliveries{};
  // Seconds from BEGIN to the COMMIT that acknowledges a batch, and deliveries per batch.
  histogram<12> commit_seconds{{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 5}};
  histogram<11> batch_size{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};

  void count(shopify::topic t, delivery_outcome o) noexcept {
    deliveries[static_cast<std::size_t>(t)][static_cast<std::size_t>(o)].fetch_add(1, std::memory_order_relaxed);
  }
};

// The webhook listener's own counts (before a delivery reaches the writer).
struct webhook_counters {
  std::atomic<std::uint32_t> connections{0};
  std::atomic<std::uint64_t> hmac_failures{0};
  std::atomic<std::uint64_t> rejected_overload{0};  // 503 for a full queue, connections over the limit
};

}  // namespace shopsegd

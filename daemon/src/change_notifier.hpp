// Wakes the long-polls of GET /v1/changes?wait=N. The writer calls notify() after a commit that
// wrote change-log entries; sessions on the query thread wait() for it or for their deadline.
// A notification is posted to the query thread at most once until that thread ran it, so a
// busy writer costs one post per burst, not one per commit.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <atomic>
#include <chrono>
#include <list>
#include <memory>

namespace shopsegd {

// One per query thread. The notifiers of all query threads share `waiting_total`, so each
// reports every waiting long-poll.
class change_notifier {
 public:
  explicit change_notifier(boost::asio::any_io_executor query_thread,
                           std::shared_ptr<std::atomic<std::size_t>> waiting_total =
                               std::make_shared<std::atomic<std::size_t>>(0))
      : ex_(std::move(query_thread)), waiting_total_(std::move(waiting_total)) {}

  // Any thread.
  void notify();
  // Query thread: true when notified before `until`, false at the deadline.
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::time_point until);
  // Any thread: how many sessions of every query thread wait (metrics).
  std::size_t waiting() const noexcept { return waiting_total_->load(std::memory_order_relaxed); }

 private:
  boost::asio::any_io_executor ex_;
  std::atomic<bool> posted_{false};
  std::list<boost::asio::steady_timer*> waiters_;  // query thread only
  std::shared_ptr<std::atomic<std::size_t>> waiting_total_;
};

}  // namespace shopsegd

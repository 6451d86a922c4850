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

namespace shopsegd {

class change_notifier {
 public:
  explicit change_notifier(boost::asio::any_io_executor query_thread) : ex_(std::move(query_thread)) {}

  // Any thread.
  void notify();
  // Query thread: true when notified before `until`, false at the deadline.
  boost::asio::awaitable<bool> wait(std::chrono::steady_clock::time_point until);
  // Query thread: how many sessions wait (metrics).
  std::size_t waiting() const noexcept { return waiters_.size(); }

 private:
  boost::asio::any_io_executor ex_;
  std::atomic<bool> posted_{false};
  std::list<boost::asio::steady_timer*> waiters_;  // query thread only
};

}  // namespace shopsegd

// Long-poll wake-ups (see change_notifier.hpp). A waiter is a timer at its deadline; a
// notification cancels every waiting timer, which ends its wait with operation_aborted.
#include "change_notifier.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace shopsegd {

namespace asio = boost::asio;

void change_notifier::notify() {
  if (posted_.exchange(true, std::memory_order_acq_rel)) return;
  asio::post(ex_, [this] {
    posted_.store(false, std::memory_order_release);
    for (auto* timer : waiters_) timer->cancel();
  });
}

asio::awaitable<bool> change_notifier::wait(std::chrono::steady_clock::time_point until) {
  asio::steady_timer timer(co_await asio::this_coro::executor, until);
  auto it = waiters_.insert(waiters_.end(), &timer);
  waiting_total_->fetch_add(1, std::memory_order_relaxed);
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  waiting_total_->fetch_sub(1, std::memory_order_relaxed);
  waiters_.erase(it);
  co_return ec == asio::error::operation_aborted;
}

}  // namespace shopsegd

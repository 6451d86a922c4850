// How a query thread runs its io_context: sleep in the kernel while idle, stay awake briefly
// after each answer.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

namespace shopsegd {

// A help desk asks in bursts (one ticket opens, the integration looks the customer up by
// email, then by id, then asks for the explain): the next request tends to arrive within a
// fraction of a millisecond of the last answer.
inline constexpr auto query_spin = std::chrono::microseconds(250);

// Runs `io` until it is stopped. After a handler has run, polls (non-blocking epoll_wait) for
// up to `spin` before blocking again. Why: a thread asleep in epoll_wait is woken by the kernel
// only after its core leaves its idle state; on a virtual machine that takes 40-100 us, several
// times the cost of a lookup (~10 us). The spin only ever follows work, so an idle daemon uses
// no CPU, and it is bounded: a lone lookup costs at most `spin` of one core.
inline void run_with_spin(boost::asio::io_context& io, std::chrono::microseconds spin = query_spin) {
  using clock = std::chrono::steady_clock;
  while (io.run_one() > 0) {  // blocks until a handler has run; 0 once stopped
    auto until = clock::now() + spin;
    while (!io.stopped() && clock::now() < until)
      if (io.poll() > 0) until = clock::now() + spin;
  }
}

}  // namespace shopsegd

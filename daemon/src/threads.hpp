// Names and scheduling of the daemon's threads.
//
// Names show in top -H, perf and /proc/PID/task/*/comm, so a profile says which thread waited.
// Priorities: the network thread, the writer and the query threads run at the daemon's own
// priority; the background checkpointer yields to them (SCHED_BATCH, nice + 10): its copy of
// the WAL is never urgent, since the writer copies whatever is left when it restarts the WAL,
// and at equal priority its bursts of CPU delayed lookups and commits on a busy machine.
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

namespace shopsegd {

// Names the calling thread (at most 15 characters; longer names are cut).
inline void name_this_thread(const char* name) noexcept {
  char cut[16] = {};
  for (int i = 0; i < 15 && name[i]; ++i) cut[i] = name[i];
  (void)pthread_setname_np(pthread_self(), cut);
}

// Makes the calling thread background work. Needs no privilege (a thread may always lower its
// own priority); a refusal (a seccomp filter, say) leaves the thread as it was.
inline void make_this_thread_background() noexcept {
  sched_param none{};
  (void)sched_setscheduler(0, SCHED_BATCH, &none);  // 0: the calling thread on Linux
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), getpriority(PRIO_PROCESS, 0) + 10);
}

}  // namespace shopsegd

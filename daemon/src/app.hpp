// The daemon's composition root: opens the store, starts the writer and the listeners, runs
// until SIGTERM/SIGINT, then drains. Owns every long-lived object; shutdown runs in reverse
// order of start.
#pragma once

#include "config.hpp"

namespace shopsegd {

// Runs the daemon with a validated config. Returns the process exit code: 0 after a clean
// drain, 1 when start-up failed (with the reason logged).
int run_daemon(const config& cfg);

}  // namespace shopsegd

// Copies the WAL back into the database file on its own connection, off the writer's thread.
//
// SQLite's automatic checkpoint runs inside the commit that fills the WAL and holds that batch
// behind the copy and a database fsync. With a writer opened with
// open_options::background_checkpoints, this object copies the bulk of the WAL concurrently
// (PASSIVE: it never blocks the writer), and the writer only finishes the last frames and
// restarts the WAL now and then (writer::restart_wal), a short stall instead of a long one.
// checkpoint() reports how far it got so that the writer restarts only when little is left to
// copy: on a large store the copy is of random pages all over the file, and the fsync after it
// is what a waiting batch would feel.
// One thread owns a checkpointer; not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "store/errors.hpp"

namespace store {

// What one checkpoint saw: the WAL's size and how much of it is now in the database file;
// both -1 when it could not run (the writer held the checkpoint lock).
struct checkpoint_progress {
  int log_frames = 0;
  int backfilled_frames = 0;
};

class checkpointer {
 public:
  static result<std::unique_ptr<checkpointer>> open(const std::string& path);
  ~checkpointer();
  checkpointer(const checkpointer&) = delete;
  checkpointer& operator=(const checkpointer&) = delete;

  // Copies what no reader still needs into the database file and fsyncs it; never waits.
  result<checkpoint_progress> checkpoint();

 private:
  struct impl;
  explicit checkpointer(std::unique_ptr<impl>);
  std::unique_ptr<impl> impl_;
};

}  // namespace store

// An online copy of the store through SQLite's backup API, taken while the writer runs.
//
// The copy is read on a connection of its own inside one read transaction, so it is one
// consistent snapshot (every commit before the snapshot, none after) and, the store being in
// WAL mode, the writer is never blocked by it: it only keeps appending to the WAL until the
// copy ends. Pages are copied in steps; the copy goes to a temporary file beside the
// destination, is synced, then renamed into place, so the destination is either absent or a
// whole database.
#pragma once
#include <cstdint>
#include <string>

#include "store/errors.hpp"

namespace store {

struct backup_stats {
  std::int64_t pages = 0;
  std::int64_t bytes = 0;
};

// Copies the store at `source` to `destination`. Refuses an existing destination unless
// `replace` (then it is replaced atomically). Errors: SQLite's (disk full, I/O) or errno's
// (the destination's directory missing or not writable, the file exists: EEXIST).
result<backup_stats> backup(const std::string& source, const std::string& destination, bool replace);

}  // namespace store

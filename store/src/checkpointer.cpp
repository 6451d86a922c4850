// The background checkpoint connection.
#include "store/checkpointer.hpp"

#include "sqlite.hpp"

namespace store {

struct checkpointer::impl {
  std::unique_ptr<detail::connection> db;
};

result<std::unique_ptr<checkpointer>> checkpointer::open(const std::string& path) {
  auto db = detail::connection::open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX);
  if (!db) return db.error();
  // synchronous = FULL: the database file is fsync'd before the WAL frames it holds may be
  // reused. This connection never writes, so it never checkpoints on its own either.
  STORE_TRY((*db)->exec("PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 0"));
  STORE_TRY(detail::check_schema(**db));
  auto state = std::make_unique<impl>();
  state->db = std::move(*db);
  return std::unique_ptr<checkpointer>(new checkpointer(std::move(state)));
}

checkpointer::checkpointer(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
checkpointer::~checkpointer() = default;

result<checkpoint_progress> checkpointer::checkpoint() {
  checkpoint_progress progress;
  const int rc = sqlite3_wal_checkpoint_v2(impl_->db->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &progress.log_frames, &progress.backfilled_frames);
  // SQLITE_BUSY: the writer holds the checkpoint lock (its restart); nothing was copied.
  if (rc == SQLITE_BUSY) return checkpoint_progress{-1, -1};
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  return progress;
}

}  // namespace store

// The background checkpoint connection.
#include "store/checkpointer.hpp"

#include "sqlite.hpp"

namespace store {

struct checkpointer::impl {
  std::unique_ptr<detail::connection> db;
  int backfilled = 0;  // WAL frames in the database file after the last checkpoint
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
  const bool copied = progress.backfilled_frames != impl_->backfilled;
  impl_->backfilled = progress.backfilled_frames;
  // Why: SQLite syncs the database file only after a checkpoint that reached the WAL's end,
  // and under steady ingest a commit lands during nearly every copy, so the pages this
  // connection wrote stayed dirty until the writer's restart_wal() synced them all, holding
  // every webhook behind that flush. Synced here, off the writer's thread and without a lock,
  // the restart's own sync finds only the last frames.
  if (copied && progress.backfilled_frames < progress.log_frames) {
    sqlite3_file* file = nullptr;
    if (sqlite3_file_control(impl_->db->handle(), "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK &&
        file && file->pMethods)
      if (const int synced = file->pMethods->xSync(file, SQLITE_SYNC_NORMAL); synced != SQLITE_OK)
        return make_sqlite_error(synced);
  }
  return progress;
}

}  // namespace store

// See backup.hpp. Why one read transaction around all steps: sqlite3_backup_step restarts the
// copy whenever another connection changes the source between steps, which at full ingest would
// be after every step; inside a read transaction the source connection keeps its snapshot.
#include "store/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>

#include "sqlite.hpp"

namespace store {
namespace {

constexpr int pages_per_step = 1024;

boost::system::error_code errno_error(int e) { return {e, boost::system::generic_category()}; }

struct backup_handle {
  sqlite3_backup* b;
  ~backup_handle() { sqlite3_backup_finish(b); }
};

result<void> sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_error(errno);
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return errno_error(e);
  return {};
}

result<backup_stats> copy_pages(detail::connection& from, detail::connection& to) {
  backup_handle h{sqlite3_backup_init(to.handle(), "main", from.handle(), "main")};
  if (!h.b) return make_sqlite_error(sqlite3_extended_errcode(to.handle()));
  int rc = SQLITE_OK;
  while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) rc = sqlite3_backup_step(h.b, pages_per_step);
  if (rc != SQLITE_DONE) return make_sqlite_error(rc);
  backup_stats s;
  s.pages = sqlite3_backup_pagecount(h.b);
  return s;
}

}  // namespace

result<backup_stats> backup(const std::string& source, const std::string& destination, bool replace) {
  if (!replace && ::access(destination.c_str(), F_OK) == 0) return errno_error(EEXIST);
  const std::string partial = destination + ".partial";
  std::remove(partial.c_str());
  auto from = detail::connection::open(source, SQLITE_OPEN_READONLY);
  if (!from) return from.error();
  auto to = detail::connection::open(partial, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!to) return to.error();
  // The snapshot: a read transaction that has read the schema holds its WAL end mark.
  STORE_TRY((*from)->exec("BEGIN"));
  STORE_TRY((*from)->scalar("SELECT count(*) FROM sqlite_schema"));
  auto copied = copy_pages(**from, **to);
  (void)(*from)->exec("COMMIT");
  if (copied) {
    auto page_size = (*to)->scalar("PRAGMA page_size");
    copied->bytes = copied->pages * (page_size ? *page_size : 4096);
  }
  to->reset();  // closes the copy before it is synced and renamed
  if (!copied) {
    std::remove(partial.c_str());
    return copied.error();
  }
  if (auto synced = sync_file(partial); !synced) return synced.error();
  if (!replace && ::access(destination.c_str(), F_OK) == 0) {
    std::remove(partial.c_str());
    return errno_error(EEXIST);
  }
  if (std::rename(partial.c_str(), destination.c_str()) != 0) return errno_error(errno);
  return copied;
}

}  // namespace store

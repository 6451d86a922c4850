// POST /v1/backup?path=/abs/file[&force=1] (admin socket only): an online copy of the store
// (store::backup). The daemon writes the file because the client may not be able to read the
// database; the path is the daemon's, so it must be absolute. The copy runs on the calling
// query thread in one read transaction: the writer and ingest go on meanwhile.
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>

#include "query_context.hpp"
#include "store/backup.hpp"

namespace shopsegd {

answer query_api::backup(const context& c) {
  const auto path = c.arg("path");
  if (!path || path->empty() || path->front() != '/')
    return c.fail(http::status::bad_request, "bad_path", "give an absolute path for the copy: ?path=/var/backups/shopseg.db");
  const auto force = c.arg("force");
  const bool replace = force && (*force == "1" || *force == "true");
  const auto started = std::chrono::steady_clock::now();
  auto copied = store::backup(cfg_.store.path, *path, replace);
  if (!copied) {
    const auto& ec = copied.error();
    spdlog::error("backup to {}: {}", *path, ec.message());
    if (ec == std::errc::file_exists)
      return c.fail(http::status::conflict, "exists", "the file exists; pass force=1 to replace it");
    if (store::is_disk_full(ec) || ec == std::errc::no_space_on_device)
      return c.fail(http::status::insufficient_storage, "disk_full", "no space left for the copy");
    return c.fail(http::status::internal_server_error, "backup_failed", "the copy failed: " + ec.message());
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  spdlog::info("backup to {}: {} bytes in {} ms", *path, copied->bytes, ms);
  json_writer w;
  w.begin_object().field("path", *path).field("bytes", copied->bytes).field("pages", copied->pages);
  w.field("ms", static_cast<std::int64_t>(ms)).end_object();
  return c.ok(w.take());
}

}  // namespace shopsegd

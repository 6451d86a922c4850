// The WAL-gathering VFS (see wal_buffer.hpp for what and why).
//
// Files other than WALs are opened by the default VFS straight into the sqlite3_file SQLite
// gave us (ours is larger than it needs), so they keep the default methods and cost nothing.
// A WAL gets a wal_file: our methods, the default VFS's file after it, and the buffer of the
// writes not yet handed on. The buffer always holds one contiguous range of the file; any other
// write, and any method that could observe the file, hands it on first.
#include "wal_buffer.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>

namespace store::detail {
namespace {

// The largest buffer kept: a commit of the ingest writer is a few hundred frames (about 1 MiB
// at 64 deliveries); an import batch or a spill writes on in 4 MiB pieces.
constexpr std::size_t buffer_limit = 4u << 20;
// The default (unix) VFS writes at most 128 KiB - 1 bytes per call (it masks the length with
// 0x1ffff, as SQLite never writes more at once), so the buffer goes on in pieces of this size.
constexpr std::size_t max_write = 124u << 10;

sqlite3_vfs* base_vfs = nullptr;  // the default VFS, set once at registration
sqlite3_vfs vfs{};
sqlite3_io_methods methods{};

struct wal_file {
  sqlite3_file base;  // must be first: SQLite sees a wal_file as a sqlite3_file
  sqlite3_file* real;
  char* data;
  std::size_t size;      // bytes buffered
  std::size_t capacity;  // bytes allocated
  sqlite3_int64 start;   // file offset of data[0]
};

constexpr std::size_t real_offset = (sizeof(wal_file) + alignof(std::max_align_t) - 1) /
                                    alignof(std::max_align_t) * alignof(std::max_align_t);

wal_file* as_wal(sqlite3_file* f) {
  return reinterpret_cast<wal_file*>(f);
}

// Hands the buffered range to the default VFS in one write. On failure the range is dropped:
// the transaction it belongs to fails with the error, and its frames are never committed.
int flush(wal_file* w) {
  int rc = SQLITE_OK;
  for (std::size_t done = 0; done < w->size && rc == SQLITE_OK;) {
    const std::size_t n = std::min(w->size - done, max_write);
    rc = w->real->pMethods->xWrite(w->real, w->data + done, static_cast<int>(n),
                                   w->start + static_cast<sqlite3_int64>(done));
    done += n;
  }
  w->size = 0;
  return rc;
}

int wal_close(sqlite3_file* f) {
  wal_file* w = as_wal(f);
  const int flushed = flush(w);
  const int rc = w->real->pMethods->xClose(w->real);
  std::free(w->data);
  w->data = nullptr;
  w->capacity = 0;
  return flushed != SQLITE_OK ? flushed : rc;
}

int wal_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  wal_file* w = as_wal(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xRead(w->real, out, amount, offset);
}

bool reserve(wal_file* w, std::size_t needed) {
  if (needed <= w->capacity) return true;
  const std::size_t grown = std::min(buffer_limit, std::max(needed, w->capacity * 2));
  void* more = std::realloc(w->data, grown);
  if (!more) return false;
  w->data = static_cast<char*>(more);
  w->capacity = grown;
  return true;
}

int wal_write(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  wal_file* w = as_wal(f);
  const auto n = static_cast<std::size_t>(amount);
  const bool contiguous = w->size > 0 && offset == w->start + static_cast<sqlite3_int64>(w->size);
  if (!contiguous || w->size + n > buffer_limit) {
    if (int rc = flush(w); rc != SQLITE_OK) return rc;
  }
  if (w->size == 0) {
    if (n > max_write || !reserve(w, std::max<std::size_t>(n, 256u << 10)))
      return w->real->pMethods->xWrite(w->real, in, amount, offset);
    w->start = offset;
  } else if (!reserve(w, w->size + n)) {
    if (int rc = flush(w); rc != SQLITE_OK) return rc;
    return w->real->pMethods->xWrite(w->real, in, amount, offset);
  }
  std::memcpy(w->data + w->size, in, n);
  w->size += n;
  return SQLITE_OK;
}

int wal_truncate(sqlite3_file* f, sqlite3_int64 size) {
  wal_file* w = as_wal(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xTruncate(w->real, size);
}

int wal_sync(sqlite3_file* f, int flags) {
  wal_file* w = as_wal(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xSync(w->real, flags);
}

int wal_file_size(sqlite3_file* f, sqlite3_int64* size) {
  wal_file* w = as_wal(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileSize(w->real, size);
}

int wal_lock(sqlite3_file* f, int level) {
  return as_wal(f)->real->pMethods->xLock(as_wal(f)->real, level);
}
int wal_unlock(sqlite3_file* f, int level) {
  return as_wal(f)->real->pMethods->xUnlock(as_wal(f)->real, level);
}
int wal_check_reserved(sqlite3_file* f, int* out) {
  return as_wal(f)->real->pMethods->xCheckReservedLock(as_wal(f)->real, out);
}

int wal_file_control(sqlite3_file* f, int op, void* arg) {
  wal_file* w = as_wal(f);
  // A size hint or a persist flag may touch the file: hand the buffer on before any of them.
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileControl(w->real, op, arg);
}

int wal_sector_size(sqlite3_file* f) {
  return as_wal(f)->real->pMethods->xSectorSize(as_wal(f)->real);
}
int wal_device(sqlite3_file* f) {
  return as_wal(f)->real->pMethods->xDeviceCharacteristics(as_wal(f)->real);
}

int wal_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return as_wal(f)->real->pMethods->xShmMap(as_wal(f)->real, page, size, extend, out);
}
int wal_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return as_wal(f)->real->pMethods->xShmLock(as_wal(f)->real, offset, n, flags);
}
void wal_shm_barrier(sqlite3_file* f) {
  as_wal(f)->real->pMethods->xShmBarrier(as_wal(f)->real);
}
int wal_shm_unmap(sqlite3_file* f, int remove) {
  return as_wal(f)->real->pMethods->xShmUnmap(as_wal(f)->real, remove);
}

int wal_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  wal_file* w = as_wal(f);
  if (int rc = flush(w); rc != SQLITE_OK) return rc;
  if (w->real->pMethods->iVersion < 3) {
    *out = nullptr;  // "no mapping": SQLite reads instead
    return SQLITE_OK;
  }
  return w->real->pMethods->xFetch(w->real, offset, amount, out);
}
int wal_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  if (as_wal(f)->real->pMethods->iVersion < 3) return SQLITE_OK;
  return as_wal(f)->real->pMethods->xUnfetch(as_wal(f)->real, offset, p);
}

int open_file(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  if (!(flags & SQLITE_OPEN_WAL)) return base_vfs->xOpen(base_vfs, name, f, flags, out_flags);
  auto* w = new (f) wal_file{};
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + real_offset);
  const int rc = base_vfs->xOpen(base_vfs, name, w->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set, and the default VFS clears its own on failure.
  if (rc != SQLITE_OK || !w->real->pMethods) {
    w->base.pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  w->base.pMethods = &methods;
  return SQLITE_OK;
}

// Everything but xOpen is the default VFS's: the wrapped functions take it as their first
// argument, so they are called with it, not with this VFS.
int vfs_delete(sqlite3_vfs*, const char* name, int sync) {
  return base_vfs->xDelete(base_vfs, name, sync);
}
int vfs_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return base_vfs->xAccess(base_vfs, name, flags, out);
}
int vfs_full_path(sqlite3_vfs*, const char* name, int n, char* out) {
  return base_vfs->xFullPathname(base_vfs, name, n, out);
}
void* vfs_dl_open(sqlite3_vfs*, const char* name) {
  return base_vfs->xDlOpen(base_vfs, name);
}
void vfs_dl_error(sqlite3_vfs*, int n, char* out) {
  base_vfs->xDlError(base_vfs, n, out);
}
void (*vfs_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return base_vfs->xDlSym(base_vfs, h, sym);
}
void vfs_dl_close(sqlite3_vfs*, void* h) {
  base_vfs->xDlClose(base_vfs, h);
}
int vfs_randomness(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xRandomness(base_vfs, n, out);
}
int vfs_sleep(sqlite3_vfs*, int micros) {
  return base_vfs->xSleep(base_vfs, micros);
}
int vfs_current_time(sqlite3_vfs*, double* out) {
  return base_vfs->xCurrentTime(base_vfs, out);
}
int vfs_last_error(sqlite3_vfs*, int n, char* out) {
  return base_vfs->xGetLastError(base_vfs, n, out);
}
int vfs_current_time64(sqlite3_vfs*, sqlite3_int64* out) {
  return base_vfs->xCurrentTimeInt64(base_vfs, out);
}

bool register_vfs() {
  base_vfs = sqlite3_vfs_find(nullptr);
  if (!base_vfs || base_vfs->iVersion < 2 || !base_vfs->xCurrentTimeInt64) return false;
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(real_offset) + base_vfs->szOsFile;
  vfs.mxPathname = base_vfs->mxPathname;
  vfs.zName = "shopseg-wal-buffer";
  vfs.xOpen = open_file;
  vfs.xDelete = vfs_delete;
  vfs.xAccess = vfs_access;
  vfs.xFullPathname = vfs_full_path;
  vfs.xDlOpen = vfs_dl_open;
  vfs.xDlError = vfs_dl_error;
  vfs.xDlSym = vfs_dl_sym;
  vfs.xDlClose = vfs_dl_close;
  vfs.xRandomness = vfs_randomness;
  vfs.xSleep = vfs_sleep;
  vfs.xCurrentTime = vfs_current_time;
  vfs.xGetLastError = vfs_last_error;
  vfs.xCurrentTimeInt64 = vfs_current_time64;
  // Version 3 (xFetch/xUnfetch) is what the default VFS has; a WAL is never memory-mapped, but
  // the methods pass through all the same.
  methods = sqlite3_io_methods{3,
                               wal_close,
                               wal_read,
                               wal_write,
                               wal_truncate,
                               wal_sync,
                               wal_file_size,
                               wal_lock,
                               wal_unlock,
                               wal_check_reserved,
                               wal_file_control,
                               wal_sector_size,
                               wal_device,
                               wal_shm_map,
                               wal_shm_lock,
                               wal_shm_barrier,
                               wal_shm_unmap,
                               wal_fetch,
                               wal_unfetch};
  return sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

}  // namespace

const char* wal_buffer_vfs() noexcept {
  static std::once_flag once;
  static bool registered = false;
  std::call_once(once, [] { registered = register_vfs(); });
  return registered ? vfs.zName : nullptr;
}

}  // namespace store::detail

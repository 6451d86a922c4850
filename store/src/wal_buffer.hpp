// A SQLite VFS that gathers the writes of a WAL file into one write per commit.
//
// SQLite writes each WAL frame with two pwrite calls (the 24-byte frame header, then the page),
// and since frames are 4,120 bytes long each page write straddles two page-cache pages: a
// commit of 100 frames cost 200 syscalls and about 300 page-cache write-begin/end rounds in the
// kernel. This VFS wraps the default one and, for WAL files only, keeps contiguous writes in a
// buffer that it hands to the default VFS as one write when SQLite syncs the WAL, reads from
// it, asks its size, truncates it, closes it or the buffer fills. Every other file, and every
// other method, goes straight to the default VFS (locks and shared memory included), so
// connections of this VFS and of the default one share a database as usual.
//
// REQUIRES of a connection opened with it: PRAGMA synchronous = FULL (or EXTRA), so that every
// commit syncs the WAL before the commit is published in the WAL index; other connections read
// committed frames from the file, and must never find them still in this buffer. With
// synchronous = FULL a commit's frames are in the file, and on disk, when COMMIT returns, as
// without this VFS.
#pragma once

namespace store::detail {

// The registered name of the VFS (registered on first call; thread-safe), for sqlite3_open_v2.
// nullptr when it could not be registered: the caller opens with the default VFS then.
const char* wal_buffer_vfs() noexcept;

}  // namespace store::detail

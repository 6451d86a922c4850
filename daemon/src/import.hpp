// An import chunk (POST /v1/import): records decoded by the session, applied by the writer in
// batches with the webhook rules, and what became of them.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/writer.hpp"

namespace shopsegd {

enum class ingest_status;

// Records the session hands to the writer at a time while it decodes a chunk (a quarter of a
// batch).
constexpr std::size_t import_feed_records = 2000;

// The records of a chunk the session is still decoding: the writer applies the records decoded
// so far while the session decodes the rest, so both cores work on an import. Guarded by the
// pipeline's lock (ingest::feed_import).
struct import_feed {
  std::vector<store::import_item> ready;  // decoded, not yet taken by the writer
  bool sealed = false;                // every record of the chunk is decoded
};

struct import_chunk {
  std::string shop;
  // The records as the store takes them (import_item_of, on the session's thread: the writer's
  // time is what an import waits for).
  std::vector<store::import_item> events;
  // With a feed, `events` grows as the session decodes; the chunk is whole once it is sealed.
  std::shared_ptr<import_feed> feed;
  // The settings row recording how far the client got in one input file ("import:" shop ":"
  // file identity), and the value to store there once the whole chunk is committed (empty:
  // store nothing, only read it).
  std::string progress_key;
  std::string progress_value;
};

struct import_result {
  std::size_t imported = 0;   // changed the store
  std::size_t unchanged = 0;  // stale, tombstoned or identical: nothing changed
  std::size_t applied = 0;    // records committed so far (the rest failed with `failure`)
  std::optional<ingest_status> failure;     // set when a batch could not be committed
  std::optional<std::string> progress;      // the progress row as it was before this chunk
};

// A chunk in the writer's hands: how far it got and what it did.
struct import_job {
  import_chunk chunk;
  std::function<void(import_result)> done;
  std::size_t next = 0;  // the first record not yet committed
  import_result result;
};

// The settings row of a shop's input file.
std::string import_progress_key(std::string_view shop, std::string_view file);

}  // namespace shopsegd

// `shopseg import` (and the import half of `shopseg backfill`): reads Shopify exports with
// shopify::import_reader and streams their records to the daemon's POST /v1/import in chunks
// over one admin-socket connection.
//
// Resuming: every chunk names the file (a hash of its first MiB and its size) and the byte
// offset and line up to which it is done once the chunk is stored; the daemon writes that in
// the transaction of the chunk's last batch. A new run asks for it first and starts there, so
// an interrupted import (Ctrl-C, a lost connection, a daemon restart) resumes where the last
// acknowledged chunk ended; --restart starts from the beginning. Records sent twice are
// "unchanged": the webhook rules make a repeat harmless.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "commands.hpp"
#include "daemon_call.hpp"
#include "import_progress.hpp"

namespace shopseg {

struct rejected_line {
  std::string file;
  std::uint64_t line = 0;
  std::string reason;
};

struct import_totals {
  std::uint64_t imported = 0, unchanged = 0, skipped = 0, orphans = 0, rejected = 0;
  std::vector<rejected_line> rejections;  // the first max_listed_rejections
};

// Imports one file into `shop`; adds to `totals`. A failure stops this file (its progress up
// to the last acknowledged chunk is kept).
std::optional<failure> import_file(const options& o, const std::string& shop, const std::string& path,
                                   bool restart, progress_meter& meter, import_totals& totals);

// The summary: counts, then each rejection as FILE:LINE: reason (or the same as JSON).
void print_import_summary(const options& o, const import_totals& totals);

// The exit code of a finished import: 0, or exit_code::rejected when lines were rejected.
int import_exit_code(const import_totals& totals);

}  // namespace shopseg

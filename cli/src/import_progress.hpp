// The progress of an import or backfill on stderr: a bar redrawn in place on a terminal
// (records/s, ETA from the bytes read), plain lines every few seconds otherwise (a log, a CI
// job), so that a long import never looks hung.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace shopseg {

class progress_meter {
 public:
  // `terminal`: redraw a bar; otherwise print a line every `every`.
  progress_meter(std::FILE* out, bool terminal, std::chrono::seconds every = std::chrono::seconds(5));

  // A new input: its label and size in bytes (0: unknown, no ETA), starting at `done_bytes`.
  void start(std::string label, std::uint64_t total_bytes, std::uint64_t done_bytes);
  // `records` sent so far in this input and the bytes read up to them.
  void update(std::uint64_t records, std::uint64_t done_bytes);
  // A status with no byte count (backfill polling): "label: text".
  void status(const std::string& text);
  // Ends the line of the bar (on a terminal) with the final figures.
  void finish(std::uint64_t records, std::uint64_t done_bytes);

 private:
  void draw(std::uint64_t records, std::uint64_t done_bytes, bool final);

  std::FILE* out_;
  bool terminal_;
  std::chrono::steady_clock::duration every_;
  std::string label_;
  std::uint64_t total_ = 0, first_bytes_ = 0;
  std::chrono::steady_clock::time_point started_, last_drawn_;
  bool drawn_ = false;
};

// "1:05" / "1:02:03" for a number of seconds.
std::string format_duration(std::uint64_t seconds);

}  // namespace shopseg

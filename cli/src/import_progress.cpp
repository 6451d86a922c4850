#include "import_progress.hpp"

namespace shopseg {

std::string format_duration(std::uint64_t seconds) {
  char text[32];
  if (seconds >= 3600)
    std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", static_cast<unsigned long long>(seconds / 3600),
                  static_cast<unsigned long long>(seconds / 60 % 60), static_cast<unsigned long long>(seconds % 60));
  else
    std::snprintf(text, sizeof text, "%llu:%02llu", static_cast<unsigned long long>(seconds / 60),
                  static_cast<unsigned long long>(seconds % 60));
  return text;
}

progress_meter::progress_meter(std::FILE* out, bool terminal, std::chrono::seconds every)
    : out_(out), terminal_(terminal), every_(terminal ? std::chrono::milliseconds(200) : every) {}

void progress_meter::start(std::string label, std::uint64_t total_bytes, std::uint64_t done_bytes) {
  label_ = std::move(label);
  total_ = total_bytes;
  first_bytes_ = done_bytes;
  started_ = last_drawn_ = std::chrono::steady_clock::now();
  drawn_ = false;
}

void progress_meter::update(std::uint64_t records, std::uint64_t done_bytes) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last_drawn_ < every_) return;
  last_drawn_ = now;
  draw(records, done_bytes, false);
}

void progress_meter::status(const std::string& text) {
  if (terminal_) {
    std::fprintf(out_, "\r\033[K%s: %s", label_.c_str(), text.c_str());
  } else {
    std::fprintf(out_, "%s: %s\n", label_.c_str(), text.c_str());
  }
  drawn_ = terminal_;
  std::fflush(out_);
}

void progress_meter::finish(std::uint64_t records, std::uint64_t done_bytes) {
  draw(records, done_bytes, true);
  if (terminal_) std::fputc('\n', out_);
  std::fflush(out_);
  drawn_ = false;
}

void progress_meter::draw(std::uint64_t records, std::uint64_t done_bytes, bool final) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  const double rate = seconds > 0 ? static_cast<double>(records) / seconds : 0;
  const double byte_rate = seconds > 0 ? static_cast<double>(done_bytes - first_bytes_) / seconds : 0;
  const double fraction = total_ > 0 ? std::min(1.0, static_cast<double>(done_bytes) / static_cast<double>(total_)) : 0;
  std::string eta = "-";
  if (final)
    eta = "done in " + format_duration(static_cast<std::uint64_t>(seconds));
  else if (total_ > 0 && byte_rate > 0)
    eta = "ETA " + format_duration(static_cast<std::uint64_t>(static_cast<double>(total_ - std::min(total_, done_bytes)) / byte_rate));
  if (terminal_) {
    constexpr int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(static_cast<std::size_t>(filled), '=');
    if (filled < width) bar += '>' + std::string(static_cast<std::size_t>(width - filled - 1), ' ');
    std::fprintf(out_, "\r\033[K%s [%s] %3.0f%% %llu records %.0f/s %s", label_.c_str(), bar.c_str(), fraction * 100,
                 static_cast<unsigned long long>(records), rate, eta.c_str());
  } else {
    std::fprintf(out_, "%s: %.0f%% %llu records %.0f records/s %s\n", label_.c_str(), fraction * 100,
                 static_cast<unsigned long long>(records), rate, eta.c_str());
  }
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace shopseg

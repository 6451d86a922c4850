// shopsegd: the daemon's entry point. Parses the command line, loads the config, and either
// validates it (--check-config, like `nginx -t`) or runs.
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "app.hpp"
#include "config.hpp"

namespace {

constexpr const char* usage =
    "usage: shopsegd --config FILE [--check-config]\n"
    "  --config FILE    the TOML configuration (see config.example.toml)\n"
    "  --check-config   validate the configuration and exit: 0 valid, 2 invalid\n"
    "  --version        print the version\n"
    "exit codes: 0 clean shutdown, 1 start-up failure, 2 invalid configuration or usage\n";

// True when stderr is the stream systemd connected to journald ($JOURNAL_STREAM names its
// device and inode; a child with stderr redirected elsewhere inherits the variable, hence the
// comparison).
bool stderr_is_journal() {
  const char* stream = std::getenv("JOURNAL_STREAM");
  unsigned long long dev = 0, ino = 0;
  if (!stream || std::sscanf(stream, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return ::fstat(STDERR_FILENO, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

// "%*": the sd-daemon priority prefix of the level ("<6>" for info), which journald strips and
// files the line under, so `journalctl -p warning` works.
class journal_priority final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    // trace, debug, info, warn, err, critical, off
    static constexpr std::string_view prefix[] = {"<7>", "<7>", "<6>", "<4>", "<3>", "<2>", "<6>"};
    const auto p = prefix[static_cast<std::size_t>(msg.level)];
    dest.append(p.data(), p.data() + p.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<journal_priority>(); }
};

// Logs go to stderr. Under journald a line is its priority prefix and the message (journald
// adds the time and the unit); elsewhere a UTC timestamp and the level name come first.
void setup_logging(bool journal) {
  auto logger = spdlog::stderr_logger_mt("shopsegd");
  if (journal) {
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<journal_priority>('*').set_pattern("%*%v");
    logger->set_formatter(std::move(formatter));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  }
  spdlog::set_default_logger(logger);
}

// glibc's defaults hand freed memory at the top of the heap back to the kernel once 128 KiB are
// free and grow the heap by as little as asked. An import frees each batch (megabytes of decoded
// records, rows and views) and allocates the next one at once, so with the defaults the writer
// and the sessions kept returning pages and faulting them in again, zeroed by the kernel. Keeping
// up to 128 MiB free at the top and growing 32 MiB at a time ends that (the daemon's resident
// size stays at its high-water mark, up to that much above what it uses). Setting the trim
// threshold also fixes the mmap threshold at its 128 KiB start: a block that large (a request
// body, a batch's vectors) is its own mapping, returned whole when freed.
void tune_malloc() {
#ifdef __GLIBC__
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  mallopt(M_TOP_PAD, 32 << 20);
#endif
}

}  // namespace

int main(int argc, char** argv) {
  tune_malloc();
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) config_path = argv[++i];
    else if (arg.rfind("--config=", 0) == 0) config_path = arg.substr(9);
    else if (arg == "--check-config") check_only = true;
    else if (arg == "--version") { std::cout << "shopsegd 0.1.0\n"; return 0; }
    else if (arg == "--help" || arg == "-h") { std::cout << usage; return 0; }
    else { std::cerr << "shopsegd: unknown argument '" << arg << "'\n" << usage; return 2; }
  }
  if (config_path.empty()) {
    std::cerr << usage;
    return 2;
  }
  const bool journal = stderr_is_journal();
  setup_logging(journal);

  auto cfg = shopsegd::load_config(config_path);
  if (!cfg) {
    const char* error_prefix = journal ? "<3>" : "";
    for (const auto& m : cfg.error().messages) std::cerr << error_prefix << m << "\n";
    std::cerr << error_prefix << "shopsegd: " << cfg.error().messages.size() << " error(s) in "
              << config_path << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": configuration is valid\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg->log.level));
  return shopsegd::run_daemon(*cfg);
}

// shopsegd: the daemon's entry point. Parses the command line, loads the config, and either
// validates it (--check-config, like `nginx -t`) or runs.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

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

}  // namespace

int main(int argc, char** argv) {
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
  auto logger = spdlog::stderr_logger_mt("shopsegd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);

  auto cfg = shopsegd::load_config(config_path);
  if (!cfg) {
    for (const auto& m : cfg.error().messages) std::cerr << m << "\n";
    std::cerr << "shopsegd: " << cfg.error().messages.size() << " error(s) in " << config_path << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << config_path << ": configuration is valid\n";
    return 0;
  }
  spdlog::set_level(spdlog::level::from_str(cfg->log.level));
  return shopsegd::run_daemon(*cfg);
}

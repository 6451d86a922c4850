// The query and admin sockets' request path: bytes of one or more pipelined requests -> the
// query API's answers, rendered as the session writes them. The parser has the session's body
// limit; the store is a fresh temporary database (schema only), opened once per process. The
// first byte picks the caller's rights (bit 0: admin socket) and whether a long-poll's wait has
// ended (bit 1).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>

#include "http_input.hpp"
#include "live_config.hpp"
#include "query_api.hpp"
#include "store/writer.hpp"

namespace {

constexpr const char* config_text =
    "[webhook]\nsecrets = [\"fuzz-secret\"]\n"
    "[[segment]]\nname = \"vip\"\ntier = 1\nquery = \"amount_spent > 1000 OR customer_tags CONTAINS 'vip'\"\n"
    "[[segment]]\nname = \"high-value\"\nquery = \"amount_spent_percentile >= 80\"\n"
    "[[order_flag]]\nname = \"large\"\nquery = \"amount > 2500\"\n";

std::filesystem::path temp_dir;

void remove_temp_dir() {
  std::error_code ec;
  std::filesystem::remove_all(temp_dir, ec);
}

struct fixture {
  shopsegd::config cfg = shopsegd::parse_config(config_text, "fuzz.toml").value();
  std::unique_ptr<store::writer> writer;
  std::unique_ptr<shopsegd::live_config> live;
  std::unique_ptr<shopsegd::query_api> api;

  fixture() {
    std::string dir = (std::filesystem::temp_directory_path() / "shopseg-fuzz-XXXXXX").string();
    if (!::mkdtemp(dir.data())) std::abort();
    temp_dir = dir;
    std::atexit(remove_temp_dir);
    const std::string path = dir + "/store.db";
    writer = store::writer::open(path).value();  // creates the schema
    live = std::make_unique<shopsegd::live_config>(std::make_shared<const shopsegd::config>(cfg));
    shopsegd::daemon_state state;
    state.clock = [] { return std::int64_t{1767225600000}; };
    api = std::make_unique<shopsegd::query_api>(cfg, *live, store::reader::open(path).value(), std::move(state));
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static fixture f;
  const auto rights = (data[0] & 1) ? shopsegd::access::admin : shopsegd::access::query;
  const bool deadline_passed = data[0] & 2;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  for (int requests = 0; requests < 8 && !in.empty(); ++requests) {
    fuzzing::http::request_parser<fuzzing::http::string_body> parser;
    parser.body_limit(1 << 20);
    if (!fuzzing::put_head(parser, in) || !fuzzing::put_body(parser, in)) return 0;
    const auto& req = parser.get();
    auto answer = f.api->handle(req, rights, deadline_passed);
    if (auto* res = std::get_if<shopsegd::response>(&answer)) {
      std::ostringstream wire;
      wire << *res;
    }
    if (!req.keep_alive()) return 0;
  }
  return 0;
}

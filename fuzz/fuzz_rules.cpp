// The segment query parser (rules/): any text must parse to a query or to errors, never crash.
// The first byte picks the subject (customer segment or order flag); a parsed query is also
// asked for its percentile thresholds, as the daemon does after loading a segment.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "rules/query.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const auto about = (data[0] & 1) ? rules::subject::order : rules::subject::customer;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  static const rules::source_location where{"fuzz.toml", {}};
  auto parsed = rules::parse(text, where, about);
  if (parsed) (void)rules::percentile_thresholds(*parsed);
  return 0;
}

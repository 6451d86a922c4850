// The import reader (bulk-operation JSONL and REST exports): input is a whole file. It is read
// as the client reads it (one multi-line page, else line by line, then finish), and every
// record it gives out must survive the import wire format: append_wire_line's JSON is decoded
// back by the webhook decoder, which must accept it (an error there is a bug: abort).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "shopify/decode.hpp"
#include "shopify/import.hpp"

namespace {

void read_lines(shopify::import_reader& reader, std::string_view input, shopify::import_output& out) {
  std::uint64_t line = 1, offset = 0;
  while (offset < input.size()) {
    const auto end = input.find('\n', offset);
    const auto stop = end == std::string_view::npos ? input.size() : end;
    reader.feed_line(input.substr(offset, stop - offset), line++, offset, out);
    offset = stop + 1;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static shopify::decoder decoder;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  shopify::import_reader reader;
  shopify::import_output out;
  const std::string_view first = input.substr(0, input.find('\n'));
  if (!(shopify::starts_multiline_page(first) && reader.feed_page(input, 1, 0, out))) read_lines(reader, input, out);
  reader.finish(out);
  (void)reader.oldest_pending();
  std::string wire;
  for (const auto& record : out.records) {
    wire.clear();
    shopify::append_wire_line(wire, record.value);
    if (wire.size() < 3 || wire[1] != '\t' || wire.back() != '\n') std::abort();
    auto back = decoder.decode(shopify::wire_topic(wire[0]), std::string_view(wire).substr(2, wire.size() - 3));
    if (!back) {
      std::fprintf(stderr, "wire line not decodable: %s\n", back.error().reason.c_str());
      std::abort();
    }
  }
  return 0;
}

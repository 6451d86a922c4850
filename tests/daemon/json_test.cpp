// The answers' JSON writer: commas, escapes, exact integers.
#include <doctest/doctest.h>

#include <string>

#include "json.hpp"

using shopsegd::json_writer;

namespace {

std::string one_string(std::string_view s) {
  json_writer w;
  w.value(s);
  return w.take();
}

}  // namespace

TEST_CASE("strings are escaped per RFC 8259, plain runs and bytes >= 0x80 unchanged") {
  CHECK(one_string("") == R"("")");
  CHECK(one_string("jane.smith.17@example.com") == R"("jane.smith.17@example.com")");
  CHECK(one_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(one_string("\"") == R"("\"")");
  CHECK(one_string("line\nbreak\r\ttab") == R"("line\nbreak\r\ttab")");
  CHECK(one_string(std::string_view("\x01\x1f", 2)) == R"("\u0001\u001f")");
  CHECK(one_string(std::string_view("nul\0end", 7)) == R"("nul\u0000end")");
  CHECK(one_string("Zoë Müller") == "\"Zoë Müller\"");
  CHECK(one_string("\x7f") == "\"\x7f\"");
  CHECK(one_string("ends with \\") == R"("ends with \\")");
}

TEST_CASE("keys, values and nesting are separated by the writer") {
  json_writer w;
  w.begin_object().field("a", 1).key("b").begin_array().value("x").value(true).null().end_array();
  w.field("c", std::optional<std::int64_t>()).field("d", std::uint64_t{18446744073709551615u});
  w.key("e").begin_object().end_object().key("f").raw("{\"g\":[]}").end_object();
  CHECK(w.take() ==
        R"({"a":1,"b":["x",true,null],"c":null,"d":18446744073709551615,"e":{},"f":{"g":[]}})");
}

// Tables, records and JSON text of the client: exact ids, money as the daemon's strings,
// alignment in code points.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>

#include "json_output.hpp"
#include "socket_client.hpp"
#include "table_output.hpp"

namespace {

using namespace shopseg;

// What `print` writes to a FILE*.
std::string captured(const std::function<void(std::FILE*)>& print) {
  char* data = nullptr;
  std::size_t size = 0;
  std::FILE* f = open_memstream(&data, &size);
  print(f);
  std::fclose(f);
  std::string text(data, size);
  std::free(data);
  return text;
}

simdjson::dom::element parse(simdjson::dom::parser& parser, std::string_view json) {
  return parser.parse(simdjson::padded_string(json)).value();
}

}  // namespace

TEST_CASE("cell_text keeps the daemon's values exactly") {
  simdjson::dom::parser parser;
  auto doc =
      parse(parser,
            R"({"max":18446744073709551615,"min":-9223372036854775808,"id":7390180213025123457,
       "money":"12840.50","null":null,"none":[],"tags":["race-team","vip"],"rows":[{"k":1}],
       "yes":true,"obj":{"k":"v"},"pi":0.5})");
  struct row {
    const char* key;
    const char* text;
  };
  const row rows[] = {{"max", "18446744073709551615"},
                      {"min", "-9223372036854775808"},
                      {"id", "7390180213025123457"},
                      {"money", "12840.50"},
                      {"null", "-"},
                      {"none", "-"},
                      {"tags", "race-team, vip"},
                      {"rows", R"([{"k":1}])"},
                      {"yes", "true"},
                      {"obj", R"({"k":"v"})"},
                      {"pi", "0.5"}};
  for (const auto& r : rows) {
    CAPTURE(r.key);
    CHECK(field_text(doc, r.key) == r.text);
  }
  CHECK(field_text(doc, "absent") == "-");
}

TEST_CASE("a table pads every column but the last to its widest cell, in code points") {
  table t({"NAME", "TIER", "MEMBERS"});
  t.add_row({"zoë-vip", "1", "12"});
  t.add_row({"platinum", "-", "3"});
  CHECK(captured([&](std::FILE* f) { t.print(f); }) ==
        "NAME      TIER  MEMBERS\n"
        "zoë-vip   1     12\n"
        "platinum  -     3\n");
  CHECK(aligned_row({"1", "a-much-wider-cell", "x"}, {3, 4}) == "1    a-much-wider-cell  x\n");
}

TEST_CASE("a record puts the lead keys first, flattens objects and indents multi-line values") {
  simdjson::dom::parser parser;
  auto doc = parse(parser,
                   R"({"shop":"s","id":1,"service":{"priority":"urgent","response_minutes":60},
       "tier":"platinum","query":"a > 1\nOR b < 2\n"})");
  simdjson::dom::object object = doc.get_object().value();
  const auto fields = record_of(object, {"tier", "id", "missing"});
  REQUIRE(fields.size() == 6);
  CHECK(fields[0] == std::pair<std::string, std::string>{"tier", "platinum"});
  CHECK(fields[1].first == "id");
  CHECK(fields[2].first == "shop");
  CHECK(fields[3] == std::pair<std::string, std::string>{"service.priority", "urgent"});
  CHECK(fields[4] == std::pair<std::string, std::string>{"service.response_minutes", "60"});
  CHECK(captured([&](std::FILE* f) {
          print_record(f, {{"id", "1"}, {"query", "a > 1\nOR b < 2\n"}});
        }) ==
        "id     1\n"
        "query  a > 1\n"
        "       OR b < 2\n");
}

TEST_CASE("JSON output: the answer as received, compact values, joined arrays") {
  CHECK(captured([](std::FILE* f) { print_json(f, "{\"a\":1}\r\n"); }) == "{\"a\":1}\n");
  simdjson::dom::parser parser;
  auto doc = parse(parser, R"({ "seq" : 18446744073709551615 , "cause": "wh-1" })");
  CHECK(captured([&](std::FILE* f) { print_json_line(f, doc); }) ==
        "{\"seq\":18446744073709551615,\"cause\":\"wh-1\"}\n");
  CHECK(json_array({}) == "[]");
  CHECK(json_array({"1", "{\"a\":2}"}) == "[1,{\"a\":2}]");
  CHECK(captured([](std::FILE* f) {
          print_json_object(f, {{"segment", "\"vip\""}, {"next", "null"}});
        }) == "{\"segment\":\"vip\",\"next\":null}\n");
}

TEST_CASE("percent_encode leaves only unreserved characters") {
  CHECK(percent_encode("Ann.Lee_1~x-y") == "Ann.Lee_1~x-y");
  CHECK(percent_encode("a+b@c.com") == "a%2Bb%40c.com");
  CHECK(percent_encode("/?&= é") == "%2F%3F%26%3D%20%C3%A9");
  CHECK(percent_encode("+16135550135") == "%2B16135550135");
}

// --json output. A single answer is printed exactly as the daemon sent it (compact, one
// line); where the client joins several answers it writes the same shape itself.
#pragma once

#include <simdjson.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shopseg {

// The daemon's answer as received, ending with one newline.
void print_json(std::FILE* out, std::string_view body);

// One value as compact JSON on its own line (JSON Lines: the change-log follow).
void print_json_line(std::FILE* out, simdjson::dom::element value);

// A JSON array of already-serialized values.
std::string json_array(const std::vector<std::string>& items);

// {"key": raw, ...} of already-serialized values, in the given order, and a newline.
void print_json_object(std::FILE* out,
                       const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace shopseg

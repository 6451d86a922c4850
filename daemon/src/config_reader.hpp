// The config loader's shared parts: the reader that collects file:line:col errors, and the
// readers of the segment-related tables (config_segments.cpp). Internal to the daemon.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <spdlog/fmt/fmt.h>
#include <toml++/toml.h>

#include "config.hpp"

namespace shopsegd::detail {

class reader {
 public:
  reader(std::string source, std::string_view text, config_errors& errors)
      : source_(std::move(source)), text_(text), errors_(errors) {}

  const std::string& source() const { return source_; }
  void add(std::vector<std::string> messages) {
    for (auto& m : messages) errors_.messages.push_back(std::move(m));
  }

  // Where the content of the string value at `where` starts: after its opening quotes, and
  // after the newline that directly follows opening triple quotes (TOML trims it). Columns
  // after an escape sequence inside the string drift by the escape's length.
  rules::position string_content_start(const toml::source_region& where) const {
    rules::position at{static_cast<int>(where.begin.line), static_cast<int>(where.begin.column)};
    std::size_t offset = 0;
    for (int line = 1; line < at.line && offset < text_.size(); ++offset)
      if (text_[offset] == '\n') ++line;
    offset += static_cast<std::size_t>(at.column - 1);
    const std::string_view rest = text_.substr(std::min(offset, text_.size()));
    if (rest.starts_with("\"\"\"") || rest.starts_with("'''")) {
      const std::string_view after = rest.substr(3);
      if (after.starts_with("\n") || after.starts_with("\r\n")) return {at.line + 1, 1};
      return {at.line, at.column + 3};
    }
    return {at.line, at.column + 1};
  }

  void error(const toml::source_region& where, const std::string& message) {
    errors_.messages.push_back(source_ + ":" + std::to_string(where.begin.line) + ":" +
                               std::to_string(where.begin.column) + ": " + message);
  }

  // Reports keys of `table` that are not in `known`.
  void check_keys(const toml::table& table, std::initializer_list<std::string_view> known,
                  std::string_view section) {
    for (const auto& [key, node] : table) {
      bool found = false;
      for (auto k : known) found = found || k == key.str();
      if (!found) error(node.source(), fmt::format("unknown key '{}' in [{}]", key.str(), section));
    }
  }

  void get(const toml::table& t, std::string_view key, std::string& out) {
    if (auto* n = t.get(key)) {
      if (auto v = n->value<std::string>()) out = *v;
      else error(n->source(), fmt::format("'{}' must be a string", key));
    }
  }

  template <class Int>
  void get(const toml::table& t, std::string_view key, Int& out, std::int64_t min,
           std::int64_t max) {
    if (auto* n = t.get(key)) {
      auto v = n->value<std::int64_t>();
      if (!v || !n->is_integer()) error(n->source(), fmt::format("'{}' must be an integer", key));
      else if (*v < min || *v > max)
        error(n->source(), fmt::format("'{}' must be between {} and {}", key, min, max));
      else out = static_cast<Int>(*v);
    }
  }

  void get(const toml::table& t, std::string_view key, std::vector<std::string>& out) {
    auto* n = t.get(key);
    if (!n) return;
    auto* arr = n->as_array();
    if (!arr) return error(n->source(), fmt::format("'{}' must be an array of strings", key));
    out.clear();
    for (const auto& item : *arr) {
      if (auto v = item.value<std::string>()) out.push_back(*v);
      else error(item.source(), fmt::format("'{}' must hold only strings", key));
    }
  }

 private:
  std::string source_;
  std::string_view text_;
  config_errors& errors_;
};


// A TOML string, integer or boolean as a JSON literal; nullopt for other types.
std::optional<std::string> json_literal(const toml::node& node);
// A table of service attributes, each a JSON literal.
service_attributes read_service(reader& r, const toml::table& t, std::string_view section);
void read_segments(reader& r, const toml::table& root, config& c);
void read_order_flags(reader& r, const toml::table& root, config& c);

}  // namespace shopsegd::detail

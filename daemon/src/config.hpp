// The daemon's configuration: one plain struct with in-class defaults, loaded and validated by
// one function. config.example.toml shows every key with its default.
#pragma once

#include <boost/system/result.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rules/query.hpp"

namespace shopsegd {

// The development secret that config.example.toml ships; the daemon warns loudly while a
// configuration uses it.
inline constexpr const char* development_secret = "shopseg-development-secret-do-not-use";

struct webhook_config {
  std::string listen = "127.0.0.1:8080";  // host:port; port 0 picks a free port
  std::string path = "/webhooks";
  std::vector<std::string> secrets;       // app client secrets, newest first (rotation)
  std::vector<std::string> secret_files;  // one secret per file; relative to $CREDENTIALS_DIRECTORY
  std::uint64_t max_body_bytes = 8 * 1024 * 1024;
  std::vector<std::string> allowed_shops;  // empty: any shop whose delivery verifies
  std::string tls_cert;                    // optional native TLS (not yet supported: refused)
  std::string tls_key;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint32_t max_connections = 4096;   // further connections are closed at once
  std::uint32_t read_timeout_seconds = 10;  // whole request, headers and body
  std::uint32_t write_timeout_seconds = 10;
  std::uint32_t idle_timeout_seconds = 60;  // keep-alive between requests
  std::uint32_t max_queue = 4096;  // deliveries waiting for the writer; beyond it: 503
};

struct query_config {
  std::string socket = "/run/shopseg/query.sock";
  std::string mode = "0660";
  std::string group;  // empty: the daemon's own group
};

struct admin_config {
  std::string socket = "/run/shopseg/admin.sock";  // always mode 0600
};

struct store_config {
  std::string path = "/var/lib/shopseg/shopseg.db";
  int dedup_retention_days = 7;
  int change_log_retention_days = 30;
  int keep_raw_bodies_days = 0;
};

struct log_config {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
};

struct shop_config {
  std::string domain;
  std::string timezone = "UTC";  // IANA name
  std::vector<std::string> secrets;  // store-level signing keys
  int silence_alert_minutes = 60;
};

// Service attributes (priority, response_minutes, handler, ...): key -> JSON literal, in the
// order the config lists them.
using service_attributes = std::vector<std::pair<std::string, std::string>>;

struct segment_config {
  std::string name;
  std::optional<int> tier;  // tiers are exclusive: the matching one with the lowest number wins
  std::string query_text;
  std::shared_ptr<const rules::query> query;
  service_attributes service;
};

// A flag on single orders (SPEC §3 "Order flags"): the query tests the order's net `amount`.
struct order_flag_config {
  std::string name;
  std::string query_text;
  std::shared_ptr<const rules::query> query;
  std::string tag;           // e.g. "[HIGH-VALUE ORDER]"
  std::string escalate_to;   // e.g. "manager"
  std::optional<int> within_minutes;
};

struct config {
  std::string source;  // file it was read from
  webhook_config webhook;
  query_config query;
  admin_config admin;
  store_config store;
  log_config log;
  std::map<std::string, std::string> default_service;  // key -> JSON literal
  std::vector<shop_config> shops;
  std::vector<segment_config> segments;       // in config order
  std::vector<order_flag_config> order_flags;  // in config order

  const shop_config* find_shop(std::string_view domain) const noexcept;
  bool uses_development_secret() const noexcept;
};

// Every problem found, each as "file:line:col: message".
struct config_errors {
  std::vector<std::string> messages;
};

// Reads and validates `path`. Secrets from secret_files are read here (relative names under
// $CREDENTIALS_DIRECTORY), so a missing file is a config error, not a runtime surprise.
boost::system::result<config, config_errors> load_config(const std::string& path);

// Parses `text` as if read from `source_name` (tests).
boost::system::result<config, config_errors> parse_config(std::string_view text,
                                                          const std::string& source_name);

[[noreturn]] void throw_exception_from_error(const config_errors& e,
                                             const boost::source_location& loc);

}  // namespace shopsegd

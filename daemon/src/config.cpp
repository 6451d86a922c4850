// Loads the TOML config into the config struct. Every error carries file:line:col so an
// operator can jump to it; unknown keys are errors too, since a typo in a key would otherwise
// silently keep a default.
#include "config.hpp"

#include <date/tz.h>

#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <toml++/toml.h>

#include "config_reader.hpp"

namespace shopsegd {
namespace {

using detail::reader;
using detail::read_service;
using detail::read_segments;
using detail::read_order_flags;


const toml::table* section(reader& r, const toml::table& root, std::string_view name) {
  auto* n = root.get(name);
  if (!n) return nullptr;
  if (auto* t = n->as_table()) return t;
  r.error(n->source(), fmt::format("[{}] must be a table", name));
  return nullptr;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

void read_secret_files(reader& r, const toml::table& t, config& c) {
  const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
  for (const auto& name : c.webhook.secret_files) {
    std::string path = name;
    if (!name.empty() && name.front() != '/' && creds) path = std::string(creds) + "/" + name;
    std::ifstream in(path);
    std::stringstream content;
    content << in.rdbuf();
    std::string secret = trim(content.str());
    if (!in || secret.empty())
      r.error(t.get("secret_files")->source(), "secret file '" + path + "' is missing or empty");
    else
      c.webhook.secrets.push_back(std::move(secret));
  }
}

// "IPv4:port" or "[IPv6]:port" with a numeric port (0 picks one).
bool valid_listen_address(const std::string& listen) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos || colon + 1 == listen.size()) return false;
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto digits = std::string_view(listen).substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port > 65535) return false;
  boost::system::error_code bad;
  boost::asio::ip::make_address(host, bad);
  return !bad;
}

void read_webhook(reader& r, const toml::table& t, config& c) {
  r.check_keys(t, {"listen", "path", "secrets", "secret_files", "max_body_bytes", "allowed_shops",
                   "tls_cert", "tls_key", "max_header_bytes", "max_connections",
                   "read_timeout_seconds", "write_timeout_seconds", "idle_timeout_seconds",
                   "max_queue"}, "webhook");
  auto& w = c.webhook;
  r.get(t, "listen", w.listen);
  r.get(t, "path", w.path);
  r.get(t, "secrets", w.secrets);
  r.get(t, "secret_files", w.secret_files);
  r.get(t, "max_body_bytes", w.max_body_bytes, 1, std::int64_t{1} << 32);
  r.get(t, "allowed_shops", w.allowed_shops);
  r.get(t, "tls_cert", w.tls_cert);
  r.get(t, "tls_key", w.tls_key);
  r.get(t, "max_header_bytes", w.max_header_bytes, 1024, 1 << 20);
  r.get(t, "max_connections", w.max_connections, 1, 1 << 20);
  r.get(t, "read_timeout_seconds", w.read_timeout_seconds, 1, 3600);
  r.get(t, "write_timeout_seconds", w.write_timeout_seconds, 1, 3600);
  r.get(t, "idle_timeout_seconds", w.idle_timeout_seconds, 1, 3600);
  r.get(t, "max_queue", w.max_queue, 1, 1 << 24);
  auto where = [&t](std::string_view key) {
    auto* n = t.get(key);
    return n ? n->source() : t.source();
  };
  if (w.path.empty() || w.path.front() != '/')
    r.error(where("path"), "[webhook] path must start with '/'");
  if (!valid_listen_address(w.listen))
    r.error(where("listen"), "[webhook] listen must be IP:PORT (e.g. \"127.0.0.1:8080\", "
                             "\"[::1]:8080\"), got '" + w.listen + "'");
  if (!w.tls_cert.empty() || !w.tls_key.empty())
    r.error(where(w.tls_cert.empty() ? "tls_key" : "tls_cert"),
            "[webhook] native TLS is not supported yet: terminate TLS at a reverse proxy");
  read_secret_files(r, t, c);
}

void read_shops(reader& r, const toml::table& root, config& c) {
  auto* n = root.get("shop");
  if (!n) return;
  auto* arr = n->as_array();
  if (!arr) return r.error(n->source(), "'shop' must be an array of tables ([[shop]])");
  std::set<std::string> seen;
  for (const auto& item : *arr) {
    auto* t = item.as_table();
    if (!t) { r.error(item.source(), "[[shop]] entries must be tables"); continue; }
    r.check_keys(*t, {"domain", "timezone", "secrets", "silence_alert_minutes"}, "[shop]");
    shop_config s;
    r.get(*t, "domain", s.domain);
    r.get(*t, "timezone", s.timezone);
    r.get(*t, "secrets", s.secrets);
    r.get(*t, "silence_alert_minutes", s.silence_alert_minutes, 0, 525600);
    if (s.domain.empty()) r.error(t->source(), "[[shop]] needs a domain");
    if (!seen.insert(s.domain).second) r.error(t->source(), "shop '" + s.domain + "' is listed twice");
    try {
      (void)date::locate_zone(s.timezone);
    } catch (const std::exception&) {
      auto* tz = t->get("timezone");
      r.error(tz ? tz->source() : t->source(), "unknown time zone '" + s.timezone + "'");
    }
    c.shops.push_back(std::move(s));
  }
}

void read_default_service(reader& r, const toml::table& t, config& c) {
  for (auto& [key, literal] : read_service(r, t, "default_service")) c.default_service[key] = literal;
}

void read_all(reader& r, const toml::table& root, config& c) {
  r.check_keys(root, {"webhook", "query", "admin", "store", "log", "default_service", "shop",
                      "segment", "order_flag"}, "top level");
  if (auto* t = section(r, root, "webhook")) read_webhook(r, *t, c);
  if (auto* t = section(r, root, "query")) {
    r.check_keys(*t, {"socket", "mode", "group"}, "query");
    r.get(*t, "socket", c.query.socket);
    r.get(*t, "mode", c.query.mode);
    r.get(*t, "group", c.query.group);
    char* end = nullptr;
    long mode = std::strtol(c.query.mode.c_str(), &end, 8);
    if (c.query.mode.empty() || *end != '\0' || mode < 0 || mode > 0777)
      r.error(t->source(), "[query] mode must be an octal file mode such as \"0660\"");
  }
  if (auto* t = section(r, root, "admin")) {
    r.check_keys(*t, {"socket"}, "admin");
    r.get(*t, "socket", c.admin.socket);
  }
  if (auto* t = section(r, root, "store")) {
    r.check_keys(*t, {"path", "dedup_retention_days", "change_log_retention_days",
                      "keep_raw_bodies_days"}, "store");
    r.get(*t, "path", c.store.path);
    r.get(*t, "dedup_retention_days", c.store.dedup_retention_days, 1, 3650);
    r.get(*t, "change_log_retention_days", c.store.change_log_retention_days, 1, 3650);
    r.get(*t, "keep_raw_bodies_days", c.store.keep_raw_bodies_days, 0, 3650);
  }
  if (auto* t = section(r, root, "log")) {
    r.check_keys(*t, {"level"}, "log");
    r.get(*t, "level", c.log.level);
    static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
    if (!levels.contains(c.log.level)) r.error(t->get("level")->source(), "unknown log level '" + c.log.level + "'");
  }
  if (auto* t = section(r, root, "default_service")) read_default_service(r, *t, c);
  read_shops(r, root, c);
  read_segments(r, root, c);
  read_order_flags(r, root, c);
  if (c.webhook.secrets.empty() && c.shops.empty())
    r.error(root.source(), "no webhook secret configured: set [webhook] secrets or secret_files");
}

}  // namespace

const shop_config* config::find_shop(std::string_view domain) const noexcept {
  for (const auto& s : shops)
    if (s.domain == domain) return &s;
  return nullptr;
}

bool config::uses_development_secret() const noexcept {
  for (const auto& s : webhook.secrets)
    if (s == development_secret) return true;
  return false;
}

boost::system::result<config, config_errors> parse_config(std::string_view text,
                                                          const std::string& source_name) {
  config_errors errors;
  reader r(source_name, text, errors);
  config c;
  c.source = source_name;
  c.default_service = {{"priority", "\"normal\""}, {"response_minutes", "240"}};
  try {
    toml::table root = toml::parse(text, source_name);
    read_all(r, root, c);
  } catch (const toml::parse_error& e) {
    r.error(e.source(), std::string(e.description()));
  }
  if (!errors.messages.empty()) return errors;
  return c;
}

boost::system::result<config, config_errors> load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return config_errors{{path + ":1:1: cannot read the file"}};
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path);
}

void throw_exception_from_error(const config_errors& e, const boost::source_location&) {
  throw std::runtime_error(e.messages.empty() ? "config error" : e.messages.front());
}

}  // namespace shopsegd

// The config loader: defaults, every error as file:line:col, secrets from files and systemd
// credentials, and the shipped example being valid.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config.hpp"

namespace {

using shopsegd::parse_config;

const std::string minimal = "[webhook]\nsecrets = [\"s\"]\n";

std::string first_error(std::string_view text) {
  auto parsed = parse_config(text, "test.toml");
  REQUIRE_FALSE(parsed.has_value());
  REQUIRE_FALSE(parsed.error().messages.empty());
  return parsed.error().messages.front();
}

struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("shopseg-config-test-" + std::to_string(::getpid()));
  temp_dir() { std::filesystem::create_directories(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name) << content;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("a minimal config takes every default of SPEC section 7") {
  auto c = parse_config(minimal, "test.toml").value();
  CHECK(c.webhook.listen == "127.0.0.1:8080");
  CHECK(c.webhook.path == "/webhooks");
  CHECK(c.webhook.max_body_bytes == 8388608);
  CHECK(c.webhook.allowed_shops.empty());
  CHECK(c.query.socket == "/run/shopseg/query.sock");
  CHECK(c.query.mode == "0660");
  CHECK(c.admin.socket == "/run/shopseg/admin.sock");
  CHECK(c.store.path == "/var/lib/shopseg/shopseg.db");
  CHECK(c.store.dedup_retention_days == 7);
  CHECK(c.store.change_log_retention_days == 30);
  CHECK(c.store.keep_raw_bodies_days == 0);
  CHECK(c.log.level == "info");
  CHECK(c.default_service.at("priority") == "\"normal\"");
  CHECK(c.default_service.at("response_minutes") == "240");
  CHECK_FALSE(c.uses_development_secret());
}

TEST_CASE("the shipped config.example.toml is valid and uses the development secret") {
  auto c = shopsegd::load_config(std::string(SHOPSEG_SOURCE_DIR) + "/config.example.toml");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().messages.front()));
  CHECK(c->uses_development_secret());
  REQUIRE(c->shops.size() == 1);
  CHECK(c->shops[0].domain == "hot-rod-an.myshopify.com");
  CHECK(c->shops[0].timezone == "America/Chicago");
}

TEST_CASE("errors carry file:line:col of the offending value") {
  struct row {
    std::string text;
    std::string expected;
  };
  const row rows[] = {
      {minimal + "[store]\ndedup_retention_days = 0\n", "test.toml:4:24: 'dedup_retention_days' must be between 1 and 3650"},
      {minimal + "[store]\npath = 5\n", "test.toml:4:8: 'path' must be a string"},
      {minimal + "[log]\nlevel = \"loud\"\n", "test.toml:4:9: unknown log level 'loud'"},
      {"[webhook]\nsecrets = [\"s\"]\nlisten = \"localhost:80\"\n", "test.toml:3:10: [webhook] listen must be IP:PORT"},
      {"[webhook]\nsecrets = [\"s\"]\nlisten = \"127.0.0.1:99999\"\n", "test.toml:3:10: [webhook] listen must be IP:PORT"},
      {"[webhook]\nsecrets = [\"s\"]\npath = \"hooks\"\n", "test.toml:3:8: [webhook] path must start with '/'"},
      {"[webhook]\nsecrets = [\"s\"]\ntls_cert = \"/etc/cert.pem\"\n", "test.toml:3:12: [webhook] native TLS is not supported"},
      {minimal + "[query]\nmode = \"rw\"\n", "[query] mode must be an octal file mode"},
      {minimal + "[[shop]]\ndomain = \"a.myshopify.com\"\ntimezone = \"Mars/Olympus\"\n", "test.toml:5:12: unknown time zone 'Mars/Olympus'"},
      {minimal + "[webhok]\n", "test.toml:3:1: unknown key 'webhok' in [top level]"},
      {"[webhook]\nsecrets = [\"s\"]\nmax_body = 1\n", "test.toml:3:12: unknown key 'max_body' in [webhook]"},
      {"[webhook]\nsecrets = [\"s\"\n", "test.toml:2:16: Error while parsing array"},
      {"[store]\npath = \"/tmp/x.db\"\n", "no webhook secret configured"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.text);
    CHECK(first_error(r.text).find(r.expected) != std::string::npos);
  }
}

TEST_CASE("all errors of a file are reported, not only the first") {
  auto parsed = parse_config(minimal + "[store]\ndedup_retention_days = 0\n[log]\nlevel = \"x\"\n", "t.toml");
  REQUIRE_FALSE(parsed.has_value());
  CHECK(parsed.error().messages.size() == 2);
}

TEST_CASE("a shop listed twice is an error") {
  auto text = minimal + "[[shop]]\ndomain = \"a.myshopify.com\"\n[[shop]]\ndomain = \"a.myshopify.com\"\n";
  CHECK(first_error(text).find("listed twice") != std::string::npos);
}

TEST_CASE("secret files are read, relative names under $CREDENTIALS_DIRECTORY") {
  temp_dir dir;
  dir.write("webhook-secret", "from-credentials\n");
  const std::string absolute = dir.write("other", "from-absolute-path");
  ::setenv("CREDENTIALS_DIRECTORY", dir.path.c_str(), 1);
  auto c = parse_config("[webhook]\nsecret_files = [\"webhook-secret\", \"" + absolute + "\"]\n", "t.toml");
  ::unsetenv("CREDENTIALS_DIRECTORY");
  REQUIRE_MESSAGE(c.has_value(), (c ? "" : c.error().messages.front()));
  CHECK(c->webhook.secrets == std::vector<std::string>{"from-credentials", "from-absolute-path"});
}

TEST_CASE("a missing or empty secret file is a config error, not a runtime surprise") {
  temp_dir dir;
  const std::string empty = dir.write("empty", "\n");
  CHECK(first_error("[webhook]\nsecret_files = [\"" + empty + "\"]\n").find("missing or empty") != std::string::npos);
  CHECK(first_error("[webhook]\nsecret_files = [\"/nonexistent/secret\"]\n") ==
        "test.toml:2:16: secret file '/nonexistent/secret' is missing or empty");
}

TEST_CASE("default_service takes strings, integers and booleans as JSON literals") {
  auto c = parse_config(minimal + "[default_service]\npriority = \"low \\\"x\\\"\"\nresponse_minutes = 30\nvip = false\n", "t.toml").value();
  CHECK(c.default_service.at("priority") == "\"low \\\"x\\\"\"");
  CHECK(c.default_service.at("response_minutes") == "30");
  CHECK(c.default_service.at("vip") == "false");
  CHECK(first_error(minimal + "[default_service]\nx = 1.5\n") ==
        "test.toml:4:5: [default_service] values must be strings, integers or booleans");
}

TEST_CASE("load_config names an unreadable file") {
  auto c = shopsegd::load_config("/nonexistent/shopsegd.toml");
  REQUIRE_FALSE(c.has_value());
  CHECK(c.error().messages.front() == "/nonexistent/shopsegd.toml:1:1: cannot read the file");
}

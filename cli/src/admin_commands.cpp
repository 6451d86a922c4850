// quarantine, quarantine retry and reload (the admin socket's routes) and health: the
// operator's commands.
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "commands.hpp"
#include "daemon_call.hpp"
#include "json_output.hpp"
#include "socket_client.hpp"
#include "table_output.hpp"

namespace shopseg {
namespace {

namespace http = boost::beast::http;

// The record of health's scalars; the two lists as their lengths, with a table each below.
void print_health(simdjson::dom::element h) {
  simdjson::dom::object object;
  if (h.get(object)) return;
  record fields = record_of(object, {"status", "last_event_at", "queue_depth"});
  simdjson::dom::array silent, drift;
  const bool has_silent = !h["silent_shops"].get(silent);
  const bool has_drift = !h["drift"].get(drift);
  for (auto& [key, value] : fields) {
    if (key == "silent_shops" && has_silent) value = std::to_string(silent.size());
    if (key == "drift" && has_drift) value = std::to_string(drift.size()) + " listed";
  }
  print_record(stdout, fields);
  if (has_silent && silent.size() > 0) {
    table t({"SILENT SHOP", "LAST EVENT AT", "MINUTES"});
    for (auto s : silent)
      t.add_row(
          {field_text(s, "shop"), field_text(s, "last_event_at"), field_text(s, "silent_minutes")});
    std::fputc('\n', stdout);
    t.print(stdout);
  }
  if (has_drift && drift.size() > 0) {
    table t({"DRIFT SHOP", "CUSTOMER", "AMOUNT_SPENT", "SHOPIFY", "ORDERS", "SHOPIFY"});
    for (auto d : drift)
      t.add_row({field_text(d, "shop"), field_text(d, "customer_id"), field_text(d, "amount_spent"),
                 field_text(d, "shopify_amount_spent"), field_text(d, "number_of_orders"),
                 field_text(d, "shopify_number_of_orders")});
    std::fputc('\n', stdout);
    t.print(stdout);
  }
}

}  // namespace

int quarantine_list(const options& o) {
  socket_client client(o.admin_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::get, "/v1/quarantine", "quarantine");
  if (!got) return report(got.error());
  if (o.json) {
    print_json(stdout, got->body);
    return 0;
  }
  simdjson::dom::array entries;
  if (got->json["quarantine"].get(entries))
    return report({exit_code::daemon_error, "quarantine: unreadable answer: no quarantine list"});
  table t({"ID", "RECEIVED", "SHOP", "TOPIC", "WEBHOOK", "BYTES", "REASON"});
  for (auto e : entries)
    t.add_row({field_text(e, "id"), field_text(e, "received_at"), field_text(e, "shop"),
               field_text(e, "topic"), field_text(e, "webhook_id"), field_text(e, "body_bytes"),
               field_text(e, "reason")});
  t.print(stdout);
  return 0;
}

int quarantine_retry(const options& o, const std::string& id) {
  const std::string context = "quarantine retry " + id;
  socket_client client(o.admin_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::post, "/v1/quarantine/" + id + "/retry", context);
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    print_record(stdout, {{"id", field_text(got->json, "id")},
                          {"outcome", field_text(got->json, "outcome")},
                          {"reason", field_text(got->json, "reason")}});
  std::fflush(stdout);
  std::string_view outcome;
  if (got->json["outcome"].get(outcome) || outcome != "applied")
    return report({exit_code::daemon_error,
                   context + ": still quarantined: " + field_text(got->json, "reason")});
  return 0;
}

int reload(const options& o) {
  socket_client client(o.admin_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::post, "/v1/reload", "reload");
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    std::printf("reload: %s\n", field_text(got->json, "status").c_str());
  return 0;
}

int backup(const options& o, const std::string& file, bool force) {
  std::error_code ec;
  const auto path = std::filesystem::absolute(file, ec);  // the daemon refuses relative paths
  if (ec) return report({exit_code::usage, "backup " + file + ": " + ec.message()});
  const std::string context = "backup " + path.string();
  socket_client client(o.admin_socket);
  simdjson::dom::parser parser;
  const std::string target =
      "/v1/backup?path=" + percent_encode(path.string()) + (force ? "&force=1" : "");
  // A copy of a large store takes a while: wait longer than for a read.
  auto got = call(client, parser, http::verb::post, target, context, std::chrono::seconds(3600));
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    print_record(stdout, {{"path", field_text(got->json, "path")},
                          {"bytes", field_text(got->json, "bytes")},
                          {"ms", field_text(got->json, "ms")}});
  return 0;
}

int health(const options& o) {
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::get, "/v1/health", "health", default_timeout, 503);
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    print_health(got->json);
  std::fflush(stdout);
  if (got->status != 200)
    return report({exit_code::daemon_error, "health: " + field_text(got->json, "status")});
  return 0;
}

}  // namespace shopseg

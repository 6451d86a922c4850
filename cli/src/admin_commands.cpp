// quarantine, quarantine retry and reload: the operator's routes, on the admin socket.
#include <cstdio>

#include "commands.hpp"
#include "daemon_call.hpp"
#include "json_output.hpp"
#include "socket_client.hpp"
#include "table_output.hpp"

namespace shopseg {
namespace {
namespace http = boost::beast::http;
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

}  // namespace shopseg

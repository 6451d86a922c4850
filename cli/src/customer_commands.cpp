// customer, lookup, explain, order and export-customer: one customer, seen by the help desk.
#include <cstdio>

#include "commands.hpp"
#include "daemon_call.hpp"
#include "json_output.hpp"
#include "socket_client.hpp"
#include "table_output.hpp"

namespace shopseg {
namespace {

namespace http = boost::beast::http;

// What a help desk looks at first; every other field follows in the daemon's order.
const std::vector<std::string_view> customer_lead = {"shop",
                                                     "id",
                                                     "first_name",
                                                     "last_name",
                                                     "email",
                                                     "phone",
                                                     "tier",
                                                     "segments",
                                                     "service",
                                                     "amount_spent",
                                                     "currency",
                                                     "number_of_orders",
                                                     "first_order_date",
                                                     "last_order_date",
                                                     "largest_order_amount",
                                                     "as_of",
                                                     "updated_at"};

const std::vector<std::string_view> order_lead = {"shop",
                                                  "id",
                                                  "name",
                                                  "customer_id",
                                                  "amount",
                                                  "currency",
                                                  "financial_status",
                                                  "flags",
                                                  "escalation",
                                                  "counts",
                                                  "test",
                                                  "cancelled",
                                                  "deleted",
                                                  "refunded",
                                                  "processed_at"};

std::string customer_path(const std::string& shop, const std::string& id) {
  return "/v1/customers/" + percent_encode(shop) + "/" + id;
}

// An order's flag names instead of their objects: the escalation line holds the first's terms.
void print_order(simdjson::dom::element o) {
  simdjson::dom::object object;
  if (o.get(object)) return;
  record fields = record_of(object, order_lead);
  simdjson::dom::array flags;
  std::string names;
  if (!o["flags"].get(flags))
    for (auto f : flags) names += (names.empty() ? "" : ", ") + field_text(f, "name");
  for (auto& [key, value] : fields)
    if (key == "flags") value = names.empty() ? "-" : names;
  print_record(stdout, fields);
}

void print_customer(simdjson::dom::element c) {
  simdjson::dom::object object;
  if (c.get(object)) return;
  print_record(stdout, record_of(object, customer_lead));
}

}  // namespace

int customer(const options& o, const std::string& shop, const std::string& id) {
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  auto got =
      call(client, parser, http::verb::get, customer_path(shop, id), "customer " + shop + " " + id);
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    print_customer(got->json);
  return 0;
}

int lookup(const options& o, const std::string& shop, const std::string& email,
           const std::string& phone) {
  const bool by_email = !email.empty();
  const std::string what = by_email ? "email " + email : "phone " + phone;
  const std::string context = "lookup " + shop + " " + what;
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  const std::string target = "/v1/customers/" + percent_encode(shop) +
                             (by_email ? "?email=" : "?phone=") +
                             percent_encode(by_email ? email : phone);
  auto got = call(client, parser, http::verb::get, target, context);
  if (!got) return report(got.error());
  simdjson::dom::array found;
  if (got->json["customers"].get(found))
    return report({exit_code::daemon_error, context + ": unreadable answer: no customers list"});
  if (o.json) {
    print_json(stdout, got->body);
  } else {
    bool first = true;
    for (auto c : found) {
      if (!first) std::fputc('\n', stdout);  // a blank line between records
      print_customer(c);
      first = false;
    }
  }
  if (found.size() == 0) return report({exit_code::not_found, context + ": no such customer"});
  return 0;
}

int explain(const options& o, const std::string& shop, const std::string& id,
            const std::string& segment) {
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  const std::string target =
      customer_path(shop, id) + "/explain?segment=" + percent_encode(segment);
  auto got =
      call(client, parser, http::verb::get, target, "explain " + shop + " " + id + " " + segment);
  if (!got) return report(got.error());
  if (o.json) {
    print_json(stdout, got->body);
    return 0;
  }
  const auto& j = got->json;
  print_record(stdout, {{"shop", field_text(j, "shop")},
                        {"id", field_text(j, "id")},
                        {"segment", field_text(j, "segment")},
                        {"query", field_text(j, "query")},
                        {"matches", field_text(j, "matches")},
                        {"member", field_text(j, "member")},
                        {"today", field_text(j, "today")}});
  simdjson::dom::array clauses;
  if (j["clauses"].get(clauses) || clauses.size() == 0) return 0;
  table t({"CLAUSE", "SAW", "HELD", "AT"});
  for (auto c : clauses)
    t.add_row({field_text(c, "clause"), field_text(c, "saw"), field_text(c, "held"),
               field_text(c, "line") + ":" + field_text(c, "column")});
  std::fputc('\n', stdout);
  t.print(stdout);
  return 0;
}

int order(const options& o, const std::string& shop, const std::string& id) {
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::get, "/v1/orders/" + percent_encode(shop) + "/" + id,
                  "order " + shop + " " + id);
  if (!got) return report(got.error());
  if (o.json)
    print_json(stdout, got->body);
  else
    print_order(got->json);
  return 0;
}

int export_customer(const options& o, const std::string& shop, const std::string& id) {
  socket_client client(o.admin_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::get, customer_path(shop, id) + "/export",
                  "export-customer " + shop + " " + id, std::chrono::seconds(300));
  if (!got) return report(got.error());
  print_json(stdout, got->body);
  return 0;
}

}  // namespace shopseg

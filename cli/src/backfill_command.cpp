// `shopseg backfill`: runs the README's bulk query against the shop's Admin API, polls the
// operation until it completes, downloads its JSONL and imports it (import_command.cpp).
// Rate limits (HTTP 429, GraphQL THROTTLED) are waited out; every other failure is said in
// plain words with exit 7.
#include <unistd.h>

#include <fstream>
#include <thread>

#include "commands.hpp"
#include "import_command.hpp"
#include "web_client.hpp"

namespace shopseg {
namespace {

namespace http = boost::beast::http;

// The bulk query of the README ("Backfill"): customers and their orders as children.
constexpr const char* bulk_query = R"({
  customers {
    edges { node {
      id email phone firstName lastName tags state createdAt updatedAt
      orders {
        edges { node {
          id name email processedAt createdAt updatedAt cancelledAt test
          displayFinancialStatus displayFulfillmentStatus
          currentTotalPriceSet { shopMoney { amount currencyCode } }
        } }
      }
    } }
  }
})";

constexpr std::chrono::seconds api_timeout{60};
constexpr int max_throttled_waits = 60;

std::string json_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

class admin_api {
 public:
  admin_api(std::string endpoint, std::string token) : endpoint_(std::move(endpoint)), token_(std::move(token)) {}

  // The `data` of a GraphQL answer, waiting out rate limits; failures in plain words.
  boost::system::result<simdjson::dom::element, failure> graphql(const std::string& query) {
    const std::string body = "{\"query\":\"" + json_escape(query) + "\"}";
    for (int attempt = 0;; ++attempt) {
      auto got = web_request(http::verb::post, endpoint_,
                             {{"X-Shopify-Access-Token", token_}, {"Content-Type", "application/json"},
                              {"Accept", "application/json"}},
                             body, api_timeout);
      if (!got) return remote("cannot reach " + endpoint_ + ": " + got.error().message());
      if (got->status == 429 || (got->status == 200 && throttled(got->body))) {
        if (attempt >= max_throttled_waits) return remote("the Admin API kept throttling the requests; try again later");
        wait_out(got->retry_after);
        continue;
      }
      if (got->status == 401 || got->status == 403)
        return remote("the Admin API refused the access token (HTTP " + std::to_string(got->status) +
                      "): check the token file and that the app has the read_customers and read_orders scopes");
      if (got->status == 404) return remote("no Admin API at " + endpoint_ + " (HTTP 404): check the shop domain and --api-version");
      if (got->status != 200) return remote("the Admin API answered HTTP " + std::to_string(got->status));
      body_ = std::move(got->body);
      simdjson::dom::element doc;
      if (parser_.parse(body_).get(doc)) return remote("the Admin API's answer is not JSON");
      simdjson::dom::array errors;
      if (!doc["errors"].get(errors) && errors.size() > 0) {
        std::string_view message;
        if (errors.at(0)["message"].get(message)) message = "unknown error";
        return remote("the Admin API reported an error: " + std::string(message));
      }
      simdjson::dom::element data;
      if (doc["data"].get(data)) return remote("the Admin API's answer has no data");
      return data;
    }
  }

  static failure remote(std::string message) { return failure{exit_code::remote, "backfill: " + std::move(message)}; }

 private:
  bool throttled(const std::string& body) {
    simdjson::dom::element doc;
    simdjson::dom::array errors;
    if (parser_.parse(body).get(doc) || doc["errors"].get(errors)) return false;
    for (auto e : errors) {
      std::string_view code;
      if (!e["extensions"]["code"].get(code) && code == "THROTTLED") return true;
    }
    return false;
  }
  void wait_out(const std::string& retry_after) {
    double seconds = 2;
    try {
      if (!retry_after.empty()) seconds = std::stod(retry_after);
    } catch (...) {
    }
    std::fprintf(stderr, "backfill: rate-limited by the Admin API; waiting %.1f s\n", seconds);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::clamp(seconds, 0.0, 60.0)));
  }

  std::string endpoint_, token_, body_;
  simdjson::dom::parser parser_;
};

std::string text_at(simdjson::dom::element e, std::string_view key) {
  std::string_view v;
  return e[key].get(v) ? std::string() : std::string(v);
}

// Starts the bulk operation; its id.
boost::system::result<std::string, failure> start_operation(admin_api& api) {
  auto data = api.graphql(std::string("mutation { bulkOperationRunQuery(query: \"\"\"") + bulk_query +
                          "\"\"\") { bulkOperation { id status } userErrors { field message } } }");
  if (!data) return data.error();
  simdjson::dom::element payload = (*data)["bulkOperationRunQuery"];
  simdjson::dom::array user_errors;
  if (!payload["userErrors"].get(user_errors) && user_errors.size() > 0)
    return admin_api::remote("Shopify did not start the bulk operation: " + text_at(user_errors.at(0), "message"));
  const std::string id = text_at(payload["bulkOperation"], "id");
  if (id.empty()) return admin_api::remote("Shopify's answer names no bulk operation");
  return id;
}

// Polls until the operation completes; its result URL (empty: no data at all).
boost::system::result<std::string, failure> wait_for(admin_api& api, const std::string& id, progress_meter& meter,
                                                     std::chrono::milliseconds every) {
  const std::string query = "{ node(id: \"" + id + "\") { ... on BulkOperation { id status errorCode objectCount "
                            "fileSize url partialDataUrl } } }";
  for (;;) {
    auto data = api.graphql(query);
    if (!data) return data.error();
    simdjson::dom::element op = (*data)["node"];
    const std::string status = text_at(op, "status");
    std::string objects = text_at(op, "objectCount");
    if (status == "COMPLETED") return text_at(op, "url");
    if (status == "FAILED" || status == "CANCELED" || status == "CANCELING" || status == "EXPIRED")
      return admin_api::remote("the bulk operation ended " + status +
                               (text_at(op, "errorCode").empty() ? "" : " (" + text_at(op, "errorCode") + ")"));
    meter.status("bulk operation " + (status.empty() ? std::string("pending") : status) + ", " +
                 (objects.empty() ? "0" : objects) + " objects so far");
    std::this_thread::sleep_for(every);
  }
}

std::string read_token(const std::string& path, std::optional<failure>& error) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token)) {
    error = failure{exit_code::usage, "backfill: cannot read the token file " + path};
    return {};
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) error = failure{exit_code::usage, "backfill: the token file " + path + " is empty"};
  return token;
}

}  // namespace

int backfill(const options& o, const backfill_options& b) {
  std::optional<failure> error;
  const std::string token = read_token(b.token_file, error);
  if (error) return report(*error);
  const std::string endpoint =
      b.endpoint.empty() ? "https://" + b.shop + "/admin/api/" + b.api_version + "/graphql.json" : b.endpoint;
  admin_api api(endpoint, token);
  progress_meter meter(stderr, ::isatty(STDERR_FILENO) == 1);
  meter.start("backfill " + b.shop, 0, 0);
  auto id = start_operation(api);
  if (!id) return report(id.error());
  meter.status("bulk operation " + *id + " started");
  auto url = wait_for(api, *id, meter, b.poll_interval);
  if (!url) return report(url.error());
  import_totals totals;
  if (url->empty()) {
    meter.status("the shop has no customers: nothing to import");
    print_import_summary(o, totals);
    return 0;
  }
  const std::string file = b.out.empty() ? "shopseg-backfill-" + b.shop + ".jsonl" : b.out;
  meter.start("download " + file, 0, 0);
  auto status = web_download(*url, file, std::chrono::hours(6), [&meter](std::uint64_t bytes, std::uint64_t) {
    meter.update(0, bytes);
  });
  if (!status) return report(admin_api::remote("downloading the result failed: " + status.error().message()));
  if (*status != 200)
    return report(admin_api::remote("downloading the result failed: HTTP " + std::to_string(*status)));
  meter.status("downloaded");
  if (auto f = import_file(o, b.shop, file, false, meter, totals)) {
    print_import_summary(o, totals);
    return report(*f);
  }
  print_import_summary(o, totals);
  return import_exit_code(totals);
}

}  // namespace shopseg

// The route table and the dispatch of the query API; the handlers live in query_*.cpp by
// subject.
#include "query_api.hpp"

#include <charconv>
#include <vector>

#include "query_context.hpp"

namespace shopsegd {
namespace {

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
      if (ec == std::errc{} && p == s.data() + i + 3) {
        out += static_cast<char>(v);
        i += 2;
      } else {
        out += s[i];
      }
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> out;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto pair = q.substr(0, amp);
    auto eq = pair.find('=');
    out.emplace_back(percent_decode(pair.substr(0, eq)),
                     eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1)));
    q = amp == std::string_view::npos ? "" : q.substr(amp + 1);
  }
  return out;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> segments;
  for (std::size_t pos = 1; pos <= path.size();) {
    auto slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    segments.push_back(percent_decode(path.substr(pos, slash - pos)));
    pos = slash + 1;
  }
  return segments;
}

}  // namespace

response reply(http::status status, std::string body, unsigned version, bool keep_alive,
               std::string_view content_type) {
  response res{status, version};
  res.set(http::field::content_type, content_type);
  res.set(http::field::server, "shopsegd");
  res.body() = std::move(body);
  res.keep_alive(keep_alive && status != http::status::internal_server_error);
  res.prepare_payload();
  return res;
}

response reply(http::status status, std::string body, const request& req, std::string_view content_type) {
  return reply(status, std::move(body), req.version(), req.keep_alive(), content_type);
}

std::optional<std::uint64_t> parse_id(std::string_view s) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct query_api::route {
  http::verb method;
  std::vector<std::string_view> pattern;  // "{}" matches one segment
  bool admin_only;
  answer (query_api::*handler)(const context&);
};

query_api::query_api(const config& cfg, const live_config& live, std::unique_ptr<store::reader> reader,
                     daemon_state state)
    : cfg_(cfg), live_(live), reader_(std::move(reader)), state_(std::move(state)) {}

answer query_api::handle(const request& req, access rights, bool deadline_passed) {
  try {
    return dispatch(req, rights, deadline_passed);
  } catch (const std::exception&) {
    reader_->end();
    return reply(http::status::internal_server_error, error_json("internal", "the request could not be answered"),
                 req);
  }
}

answer query_api::dispatch(const request& req, access rights, bool deadline_passed) {
  using v = http::verb;
  static const std::vector<route> routes = {
      {v::get, {"v1", "customers", "{}", "{}"}, false, &query_api::customer},
      {v::get, {"v1", "customers", "{}"}, false, &query_api::customers_lookup},
      {v::get, {"v1", "customers", "{}", "{}", "explain"}, false, &query_api::explain},
      {v::get, {"v1", "customers", "{}", "{}", "export"}, true, &query_api::export_customer},
      {v::get, {"v1", "orders", "{}", "{}"}, false, &query_api::order},
      {v::get, {"v1", "segments"}, false, &query_api::segments},
      {v::get, {"v1", "segments", "{}", "members"}, false, &query_api::members},
      {v::get, {"v1", "changes"}, false, &query_api::changes},
      {v::get, {"v1", "quarantine"}, true, &query_api::quarantine},
      {v::post, {"v1", "quarantine", "{}", "retry"}, true, &query_api::retry},
      {v::post, {"v1", "reload"}, true, &query_api::reload},
      {v::post, {"v1", "import"}, true, &query_api::import},
      {v::post, {"v1", "backup"}, true, &query_api::backup},
      {v::get, {"v1", "health"}, false, &query_api::health},
      {v::get, {"metrics"}, false, &query_api::metrics},
  };
  std::string_view target = req.target();
  std::string_view path = target.substr(0, target.find('?'));
  context ctx{req, {}, {}, deadline_passed};
  if (path.size() < target.size()) ctx.query = parse_query(target.substr(path.size() + 1));
  const std::vector<std::string> segments = split_path(path);
  bool path_matched = false;
  for (const auto& r : routes) {
    if (r.pattern.size() != segments.size()) continue;
    std::vector<std::string> params;
    bool match = true;
    for (std::size_t i = 0; match && i < segments.size(); ++i) {
      if (r.pattern[i] == "{}") params.push_back(segments[i]);
      else match = r.pattern[i] == segments[i];
    }
    if (!match) continue;
    path_matched = true;
    if (r.method != req.method()) continue;
    if (r.admin_only && rights != access::admin)
      return ctx.fail(http::status::forbidden, "forbidden", "this route is served on the admin socket only");
    ctx.params = std::move(params);
    return (this->*r.handler)(ctx);
  }
  if (path_matched) return ctx.fail(http::status::method_not_allowed, "method_not_allowed", "method not allowed on this route");
  return ctx.fail(http::status::not_found, "not_found", "no such route");
}

}  // namespace shopsegd

#include "daemon_call.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <cstdio>

namespace shopseg {
namespace {

using boost::system::error_code;

failure transport_failure(const error_code& ec, const std::string& path,
                          const std::string& context) {
  const bool denied = ec == boost::system::errc::permission_denied ||
                      ec == boost::system::errc::operation_not_permitted;
  std::string cause = ec.message();
  if (ec == boost::asio::error::eof || ec == boost::beast::http::error::end_of_stream ||
      ec == boost::beast::http::error::partial_message)
    cause = "the daemon closed the connection";
  else if (ec == boost::asio::error::timed_out)
    cause = "no answer from the daemon in time";
  return {denied ? exit_code::denied : exit_code::unreachable,
          context + ": " + path + ": " + cause};
}

exit_code code_of_status(unsigned status) {
  if (status == 404) return exit_code::not_found;
  if (status == 403) return exit_code::denied;
  return exit_code::daemon_error;
}

// The daemon's {"error":{"code","message","errors"?}}, or the bare status if the body is not that.
std::string cause_of_error(unsigned status, const std::string& body,
                           simdjson::dom::parser& parser) {
  std::string cause = "HTTP " + std::to_string(status);
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc)) return cause;
  std::string_view message;
  if (!doc["error"]["message"].get(message)) cause = std::string(message);
  simdjson::dom::array errors;
  if (!doc["error"]["errors"].get(errors)) {
    for (auto e : errors) {
      std::string_view line;
      if (!e.get(line)) cause += "\n  " + std::string(line);
    }
  }
  return cause;
}

}  // namespace

int report(const failure& f) {
  std::fprintf(stderr, "shopseg: %s\n", f.message.c_str());
  return static_cast<int>(f.code);
}

boost::system::result<answer, failure> call(socket_client& client, simdjson::dom::parser& parser,
                                            boost::beast::http::verb method,
                                            const std::string& target, const std::string& context,
                                            std::chrono::seconds timeout,
                                            unsigned answered_status, std::string_view body) {
  auto got = client.request(method, target, timeout, body);
  if (!got) return transport_failure(got.error(), client.path(), context);
  if ((got->status < 200 || got->status >= 300) && got->status != answered_status)
    return failure{code_of_status(got->status),
                   context + ": " + cause_of_error(got->status, got->body, parser)};
  answer a{got->status, std::move(got->body), {}};
  if (auto error = parser.parse(a.body).get(a.json))
    return failure{exit_code::daemon_error,
                   context + ": unreadable answer: " + simdjson::error_message(error)};
  return a;
}

}  // namespace shopseg

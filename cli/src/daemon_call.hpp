// One request to shopsegd and what becomes of it: a 2xx answer with its JSON parsed, or a
// failure carrying the exit code a script sees. The mapping from socket errors and HTTP status
// to exit codes lives here and nowhere else.
#pragma once

#include <simdjson.h>

#include <boost/beast/http/verb.hpp>
#include <boost/system/result.hpp>
#include <chrono>
#include <string>

#include "socket_client.hpp"

namespace shopseg {

// The exit codes scripts can rely on (also in `shopseg --help` and the README).
enum class exit_code : int {
  ok = 0,
  daemon_error = 1,  // the daemon answered an error (or an answer that could not be read)
  usage = 2,         // bad command line
  not_found = 3,     // 404: no such customer, segment or quarantine entry; a lookup found no one
  unreachable = 4,   // the socket cannot be reached, or the daemon went away or did not answer
  denied = 5,        // permission denied on the socket, or 403: an admin route on the query socket
  rejected = 6,      // import/backfill finished, but some input lines could not be used
  remote = 7,        // backfill: the shop's Admin API refused, failed or could not be reached
};

// What went wrong, as "context: cause", and the code to exit with.
struct failure {
  exit_code code = exit_code::daemon_error;
  std::string message;
};

// Prints "shopseg: MESSAGE" to stderr and returns the exit code.
int report(const failure& f);

// A 2xx answer. `json` points into the parser it was read with and lives as long as that
// parser is not reused; `body` is the answer exactly as received.
struct answer {
  unsigned status = 0;
  std::string body;
  simdjson::dom::element json;
};

constexpr std::chrono::seconds default_timeout{60};

// Sends METHOD TARGET and reads the answer. Non-2xx answers become failures whose message is
// the daemon's error message (with the `errors` list of an invalid config, one per line),
// except `answered_status`: a status whose body is an answer like a 200's (health's 503,
// "degraded"). `context` starts every failure message.
boost::system::result<answer, failure> call(socket_client& client, simdjson::dom::parser& parser,
                                            boost::beast::http::verb method,
                                            const std::string& target, const std::string& context,
                                            std::chrono::seconds timeout = default_timeout,
                                            unsigned answered_status = 0, std::string_view body = {});

}  // namespace shopseg

// segments, members and watch: the segments as a whole and the change log.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "commands.hpp"
#include "daemon_call.hpp"
#include "json_output.hpp"
#include "socket_client.hpp"
#include "table_output.hpp"

namespace shopseg {
namespace {

namespace http = boost::beast::http;

constexpr int long_poll_seconds = 30;  // how long one GET /v1/changes waits for a change

std::string members_target(const members_query& q, const std::string& cursor) {
  std::string target =
      "/v1/segments/" + percent_encode(q.segment) + "/members?limit=" + std::to_string(q.limit);
  if (!q.shop.empty()) target += "&shop=" + percent_encode(q.shop);
  if (!cursor.empty()) target += "&after=" + percent_encode(cursor);
  return target;
}

// Ctrl-C (or SIGTERM) ends a watch with exit 0. Exiting from the handler is safe here:
// rows are written with the signals blocked and flushed before they are unblocked, so
// nothing printed is ever half a line.
void exit_quietly(int) {
  _exit(0);
}

class signals_held {
 public:
  signals_held() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigprocmask(SIG_BLOCK, &set_, nullptr);
  }
  ~signals_held() { sigprocmask(SIG_UNBLOCK, &set_, nullptr); }
  signals_held(const signals_held&) = delete;
  signals_held& operator=(const signals_held&) = delete;

 private:
  sigset_t set_;
};

void exit_on_interrupt() {
  struct sigaction action {};
  action.sa_handler = exit_quietly;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

const std::vector<std::size_t> change_widths = {8, 24, 28, 20, 14, 7};

void print_changes(const options& o, simdjson::dom::array changes) {
  signals_held held;
  for (auto c : changes) {
    if (o.json) {
      print_json_line(stdout, c);
      continue;
    }
    std::fputs(aligned_row({field_text(c, "seq"), field_text(c, "at"), field_text(c, "shop"),
                            field_text(c, "customer_id"), field_text(c, "segment"),
                            field_text(c, "change"), field_text(c, "cause")},
                           change_widths)
                   .c_str(),
               stdout);
  }
  std::fflush(stdout);
}

// Members gathered page by page: table rows, or (--json) the member objects as received.
class member_listing {
 public:
  explicit member_listing(bool json) : json_(json) {}

  // false when the answer has no members list.
  bool add_page(simdjson::dom::element answer) {
    simdjson::dom::element name;
    if (!answer["segment"].get(name)) segment_json_ = simdjson::minify(name);
    simdjson::dom::array page;
    if (answer["members"].get(page)) return false;
    for (auto m : page) {
      if (json_)
        json_members_.push_back(simdjson::minify(m));
      else
        rows_.add_row({field_text(m, "shop"), field_text(m, "id"), field_text(m, "email"),
                       field_text(m, "tier")});
    }
    return true;
  }

  void print(std::FILE* out) const {
    if (!json_) return rows_.print(out);
    // Every page joined into one answer of the same shape, with no page left to follow.
    print_json_object(
        out,
        {{"segment", segment_json_}, {"members", json_array(json_members_)}, {"next", "null"}});
  }

 private:
  bool json_;
  table rows_{{"SHOP", "ID", "EMAIL", "TIER"}};
  std::vector<std::string> json_members_;
  std::string segment_json_ = "null";
};

}  // namespace

int segments(const options& o) {
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  auto got = call(client, parser, http::verb::get, "/v1/segments", "segments");
  if (!got) return report(got.error());
  if (o.json) {
    print_json(stdout, got->body);
    return 0;
  }
  simdjson::dom::array list;
  if (got->json["segments"].get(list))
    return report({exit_code::daemon_error, "segments: unreadable answer: no segments list"});
  table t({"NAME", "TIER", "MEMBERS"});
  for (auto s : list)
    t.add_row({field_text(s, "name"), field_text(s, "tier"), field_text(s, "members")});
  t.print(stdout);
  return 0;
}

int members(const options& o, const members_query& q) {
  const std::string context = "members " + q.segment;
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  member_listing listing(o.json);
  std::string cursor = q.after;
  for (;;) {
    auto got = call(client, parser, http::verb::get, members_target(q, cursor), context);
    if (!got) return report(got.error());
    if (o.json && !q.all) {
      print_json(stdout, got->body);
      return 0;
    }
    if (!listing.add_page(got->json))
      return report({exit_code::daemon_error, context + ": unreadable answer: no members list"});
    std::string_view next;
    if (got->json["next"].get(next)) break;  // null: that was the last page
    if (!q.all) {
      std::fprintf(stderr, "shopseg: %s: more follow: add --all, or --after %.*s\n",
                   context.c_str(), static_cast<int>(next.size()), next.data());
      break;
    }
    if (next == cursor)
      return report({exit_code::daemon_error, context + ": the daemon's cursor did not advance"});
    cursor = std::string(next);
  }
  listing.print(stdout);
  return 0;
}

int watch(const options& o, std::uint64_t after) {
  exit_on_interrupt();
  socket_client client(o.query_socket);
  simdjson::dom::parser parser;
  if (!o.json) {
    signals_held held;
    std::fputs(
        aligned_row({"SEQ", "AT", "SHOP", "CUSTOMER", "SEGMENT", "CHANGE", "CAUSE"}, change_widths)
            .c_str(),
        stdout);
    std::fflush(stdout);
  }
  for (;;) {
    const std::string target =
        "/v1/changes?after=" + std::to_string(after) + "&wait=" + std::to_string(long_poll_seconds);
    const auto sent = std::chrono::steady_clock::now();
    auto got = call(client, parser, http::verb::get, target, "watch after " + std::to_string(after),
                    std::chrono::seconds(long_poll_seconds + 30));
    if (!got) return report(got.error());
    simdjson::dom::array changes;
    std::uint64_t last = 0;
    if (got->json["changes"].get(changes) || got->json["last_seq"].get(last))
      return report({exit_code::daemon_error, "watch: unreadable answer: no changes or last_seq"});
    print_changes(o, changes);
    // A daemon that does not long-poll answers an empty list at once: don't spin on it.
    if (changes.size() == 0 && std::chrono::steady_clock::now() - sent < std::chrono::seconds(1))
      std::this_thread::sleep_for(std::chrono::seconds(1));
    if (last > after) after = last;
  }
}

}  // namespace shopseg

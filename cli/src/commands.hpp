// The commands of `shopseg` (SPEC §5). Each one asks the daemon through a socket, prints the
// answer (a table or record, or the daemon's JSON with --json) and returns the exit code
// (see exit_code in daemon_call.hpp). Reads go to the query socket, admin routes to the admin
// socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace shopseg {

struct options {
  std::string query_socket = "/run/shopseg/query.sock";  // --socket, $SHOPSEG_SOCKET
  std::string admin_socket = "/run/shopseg/admin.sock";  // --admin-socket, $SHOPSEG_ADMIN_SOCKET
  bool json = false;                                     // print the daemon's JSON
};

// customer_commands.cpp
int customer(const options& o, const std::string& shop, const std::string& id);
// Exactly one of email and phone is non-empty. No match is exit 3.
int lookup(const options& o, const std::string& shop, const std::string& email,
           const std::string& phone);
int explain(const options& o, const std::string& shop, const std::string& id,
            const std::string& segment);
// Always JSON: a data export is for a program or an archive, not for reading.
int export_customer(const options& o, const std::string& shop, const std::string& id);
// An order with its flags and escalation.
int order(const options& o, const std::string& shop, const std::string& id);

// segment_commands.cpp
int segments(const options& o);
struct members_query {
  std::string segment;
  std::string shop;   // empty: every shop
  std::string after;  // cursor to start after; empty: the beginning
  unsigned limit = 100;
  bool all = false;  // follow the cursor to the end
};
int members(const options& o, const members_query& q);
// Follows the change log from `after` until interrupted (SIGINT/SIGTERM exit 0).
int watch(const options& o, std::uint64_t after);

// admin_commands.cpp
int quarantine_list(const options& o);
// A retry that lands in quarantine again prints the entry and exits 1.
int quarantine_retry(const options& o, const std::string& id);
int reload(const options& o);
// An online copy of the store written by the daemon to FILE (made absolute here); an existing
// file is refused (exit 1) unless `force`.
int backup(const options& o, const std::string& file, bool force);
// Health from the query socket; a degraded daemon prints its state and exits 1.
int health(const options& o);

// import_command.cpp: `shopseg import --shop DOMAIN [--restart] FILE...`
int import_files(const options& o, const std::string& shop, const std::vector<std::string>& files, bool restart);

// backfill_command.cpp: `shopseg backfill --shop DOMAIN --token-file F ...`
struct backfill_options {
  std::string shop;
  std::string token_file;
  std::string api_version = "2025-10";
  std::string endpoint;  // empty: https://SHOP/admin/api/VERSION/graphql.json
  std::string out;       // where the result is downloaded; empty: ./shopseg-backfill-SHOP.jsonl
  std::chrono::milliseconds poll_interval{5000};
};
int backfill(const options& o, const backfill_options& b);

}  // namespace shopseg

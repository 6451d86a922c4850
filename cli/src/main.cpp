// shopseg: the command line of SPEC §5. Parses arguments (CLI11) and runs one command; every
// command talks to shopsegd only through its Unix sockets.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>

#include "commands.hpp"
#include "daemon_call.hpp"

namespace {

constexpr const char* footer = R"(Environment:
  SHOPSEG_SOCKET        the query socket when --socket is not given (default /run/shopseg/query.sock)
  SHOPSEG_ADMIN_SOCKET  the admin socket when --admin-socket is not given (default /run/shopseg/admin.sock)

Output: aligned tables and records by default. --json prints the daemon's answer exactly as
received (compact, one line); `members --all` joins its pages into one answer of the same shape
("next": null); `watch --json` prints one change per line (JSON Lines). export-customer is
always JSON.

Exit codes:
  0  success
  1  the daemon answered an error (its message on stderr), a quarantine retry failed again,
     or health is degraded
  2  usage error
  3  not found: no such customer, order, segment or quarantine entry; a lookup that matched
     no one
  4  the daemon cannot be reached: no socket, connection refused or lost, no answer in time
  5  permission denied on the socket, or an admin route asked on the query socket (403)
  6  import/backfill finished, but some input lines were rejected (listed as FILE:LINE: reason)
  7  backfill: the shop's Admin API refused, failed or could not be reached
)";

// Decimal digits only, within [min, max]: CLI11's own conversion would read "010" as octal
// and "-1" as 2^64-1.
CLI::Validator decimal(std::uint64_t min, std::uint64_t max) {
  return CLI::Validator(
      [min, max](std::string& s) -> std::string {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc{} || end != s.data() + s.size() || v < min || v > max)
          return "must be a decimal number from " + std::to_string(min) + " to " +
                 std::to_string(max) + ", not '" + s + "'";
        return {};
      },
      "UINT");
}

std::uint64_t to_u64(const std::string& s) {
  std::uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);  // checked by decimal() already
  return v;
}

// The arguments of every command; the callback of the command given sets `run`.
struct command_line {
  shopseg::options o;
  std::string shop, id, segment, email, phone, quarantine_id, after_seq = "0", limit = "100";
  shopseg::members_query members;
  std::vector<std::string> files;
  bool restart = false;
  shopseg::backfill_options backfill;
  std::string poll_ms = "5000";
  std::string backup_file;
  bool backup_force = false;
  std::function<int()> run;
};

constexpr auto u64_max = std::numeric_limits<std::uint64_t>::max();

void add_global_options(CLI::App& app, command_line& cl) {
  app.set_version_flag("--version", "shopseg " SHOPSEG_VERSION);
  app.footer(footer);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the command too
  // The last of a repeated option wins, so a wrapper script's default can be overridden.
  app.add_option("--socket", cl.o.query_socket, "query socket (reads)")
      ->envname("SHOPSEG_SOCKET")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
  app.add_option("--admin-socket", cl.o.admin_socket,
                 "admin socket (quarantine, reload, export-customer, backup)")
      ->envname("SHOPSEG_ADMIN_SOCKET")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
  app.add_flag("--json", cl.o.json, "print the daemon's JSON instead of a table");
}

void add_shop_and_id(CLI::App* command, command_line& cl) {
  command->add_option("SHOP", cl.shop, "shop domain (e.g. hot-rod-an.myshopify.com)")->required();
  command->add_option("ID", cl.id, "customer id")->required()->check(decimal(0, u64_max));
}

void add_customer_commands(CLI::App& app, command_line& cl) {
  auto* c =
      app.add_subcommand("customer", "a customer: profile, aggregates, tier, segments, service");
  add_shop_and_id(c, cl);
  c->callback([&] { cl.run = [&] { return shopseg::customer(cl.o, cl.shop, cl.id); }; });

  auto* l = app.add_subcommand(
      "lookup", "the customers of a shop with this email (case-insensitive) or phone");
  l->add_option("SHOP", cl.shop, "shop domain")->required();
  auto* by_email = l->add_option("--email", cl.email, "email address");
  l->add_option("--phone", cl.phone, "phone number (E.164, e.g. +16135550135)")->excludes(by_email);
  l->callback([&] {
    if (cl.email.empty() && cl.phone.empty()) throw CLI::RequiredError("--email or --phone");
    cl.run = [&] { return shopseg::lookup(cl.o, cl.shop, cl.email, cl.phone); };
  });

  auto* e =
      app.add_subcommand("explain", "why a customer is or is not in a segment, clause by clause");
  add_shop_and_id(e, cl);
  e->add_option("SEGMENT", cl.segment, "segment name")->required();
  e->callback([&] { cl.run = [&] { return shopseg::explain(cl.o, cl.shop, cl.id, cl.segment); }; });

  auto* od = app.add_subcommand("order", "an order: amount, status, flags and escalation");
  od->add_option("SHOP", cl.shop, "shop domain")->required();
  od->add_option("ID", cl.id, "order id")->required()->check(decimal(0, u64_max));
  od->callback([&] { cl.run = [&] { return shopseg::order(cl.o, cl.shop, cl.id); }; });

  auto* x =
      app.add_subcommand("export-customer", "everything held about a customer, as JSON (admin)");
  add_shop_and_id(x, cl);
  x->callback([&] { cl.run = [&] { return shopseg::export_customer(cl.o, cl.shop, cl.id); }; });
}

void add_segment_commands(CLI::App& app, command_line& cl) {
  auto* s = app.add_subcommand("segments", "the segments with their member counts");
  s->callback([&] { cl.run = [&] { return shopseg::segments(cl.o); }; });

  auto* m = app.add_subcommand("members", "the members of a segment, a page at a time");
  m->add_option("NAME", cl.members.segment, "segment name")->required();
  m->add_option("--shop", cl.members.shop, "only the members of this shop");
  m->add_option("--limit", cl.limit, "members per page (1-1000)")
      ->check(decimal(1, 1000))
      ->capture_default_str();
  m->add_option("--after", cl.members.after, "start after this cursor (a page's \"next\")");
  m->add_flag("--all", cl.members.all, "follow the cursor to the last page");
  m->callback([&] {
    cl.members.limit = static_cast<unsigned>(to_u64(cl.limit));
    cl.run = [&] { return shopseg::members(cl.o, cl.members); };
  });

  auto* w =
      app.add_subcommand("watch", "follow the change log (joins and leaves) until interrupted");
  w->add_option("--after", cl.after_seq,
                "start after this change sequence number (0: from the start)")
      ->check(decimal(0, u64_max))
      ->capture_default_str();
  w->callback([&] { cl.run = [&] { return shopseg::watch(cl.o, to_u64(cl.after_seq)); }; });
}

void add_admin_commands(CLI::App& app, command_line& cl) {
  auto* q = app.add_subcommand("quarantine", "deliveries that could not be applied (admin)");
  q->require_subcommand(0, 1);
  auto* r = q->add_subcommand("retry", "apply a quarantined delivery again (admin)");
  r->add_option("ID", cl.quarantine_id, "quarantine entry id")
      ->required()
      ->check(decimal(0, u64_max));
  r->callback([&] { cl.run = [&] { return shopseg::quarantine_retry(cl.o, cl.quarantine_id); }; });
  q->callback([&] {  // runs after retry's callback: only the bare command lists
    if (!cl.run) cl.run = [&] { return shopseg::quarantine_list(cl.o); };
  });

  auto* im = app.add_subcommand(
      "import", "load orders and customers from Shopify exports (bulk-operation JSONL, REST JSON) (admin)");
  im->add_option("--shop", cl.shop, "shop domain the records belong to")->required();
  im->add_option("FILE", cl.files, "export files, imported in order")->required()->check(CLI::ExistingFile);
  im->add_flag("--restart", cl.restart, "start over instead of resuming where an earlier run stopped");
  im->callback([&] { cl.run = [&] { return shopseg::import_files(cl.o, cl.shop, cl.files, cl.restart); }; });

  auto* bf = app.add_subcommand(
      "backfill", "run the bulk query against the shop's Admin API, download the result, import it (admin)");
  bf->add_option("--shop", cl.backfill.shop, "shop domain (e.g. hot-rod-an.myshopify.com)")->required();
  bf->add_option("--token-file", cl.backfill.token_file, "file holding an Admin API access token")
      ->required()
      ->check(CLI::ExistingFile);
  bf->add_option("--api-version", cl.backfill.api_version, "Admin API version")->capture_default_str();
  bf->add_option("--endpoint", cl.backfill.endpoint,
                 "GraphQL endpoint URL (default https://SHOP/admin/api/VERSION/graphql.json)");
  bf->add_option("--out", cl.backfill.out, "where to download the result (default ./shopseg-backfill-SHOP.jsonl)");
  bf->add_option("--poll-ms", cl.poll_ms, "milliseconds between polls of the operation")
      ->check(decimal(1, 600000))
      ->capture_default_str();
  bf->callback([&] {
    cl.backfill.poll_interval = std::chrono::milliseconds(to_u64(cl.poll_ms));
    cl.run = [&] { return shopseg::backfill(cl.o, cl.backfill); };
  });

  auto* rl = app.add_subcommand("reload", "reload the daemon's configuration (admin)");
  rl->callback([&] { cl.run = [&] { return shopseg::reload(cl.o); }; });

  auto* b = app.add_subcommand("backup", "write an online copy of the store to FILE (admin)");
  b->add_option("FILE", cl.backup_file, "where the daemon writes the copy")->required();
  b->add_flag("--force", cl.backup_force, "replace FILE if it exists");
  b->callback([&] { cl.run = [&] { return shopseg::backup(cl.o, cl.backup_file, cl.backup_force); }; });

  auto* h =
      app.add_subcommand("health", "store, listeners, last event, queue, silent shops, drift");
  h->callback([&] { cl.run = [&] { return shopseg::health(cl.o); }; });
}

}  // namespace

int main(int argc, char** argv) {
  command_line cl;
  CLI::App app{
      "shopseg: ask shopsegd about customers, segments and changes, over its Unix sockets."};
  app.name("shopseg");
  add_global_options(app, cl);
  add_customer_commands(app, cl);
  add_segment_commands(app, cl);
  add_admin_commands(app, cl);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help, --version
    std::fprintf(stderr, "shopseg: usage: %s\n(see shopseg --help)\n", error.what());
    return static_cast<int>(shopseg::exit_code::usage);
  }
  return cl.run();
}

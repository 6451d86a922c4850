// loadgen: posts signed Shopify orders/create webhooks over keep-alive connections and reports
// throughput, ack latency and (given --pid) the server's CPU time per webhook and peak RSS.
//
// Every request is a distinct order with a distinct Webhook-Id; customers come from a fixed pool
// so aggregates grow as they would in a shop. Requests are generated and signed before the clock
// starts; if a run outlasts the pool, the pool is reused with fresh ids patched in place and
// re-signed (counted as "resigned" in the report), so no delivery is ever a duplicate.
//
// Modes: full load (every connection sends its next request as soon as the previous answer
// arrived) or --rate R (open loop: request k is due at start + k/R whatever the server does;
// latency is measured from the due time, so a stalled server is not hidden by the generator
// waiting for it).
#include <shopify/hmac.hpp>

#include <boost/asio.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::string path = "/webhooks";
  std::string secret = "dev-secret-change-me";
  std::string shop = "bench-shop.myshopify.com";
  std::string api_version = "2024-10";
  int connections = 64;
  double rate = 0;  // 0: full load
  double duration = 10;
  double warmup = 2;
  long requests = 0;  // pool size; 0: derived from mode and duration
  long customers = 100000;
  int line_items_max = 2;
  long pid = 0;
  uint64_t seed = 0;
  bool json = false;
  bool print_sample = false;
  std::string label;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: loadgen [options]\n"
               "  --host H          server address (127.0.0.1)\n"
               "  --port P          server port (8080)\n"
               "  --path P          webhook path (/webhooks)\n"
               "  --secret S        HMAC secret the server verifies with\n"
               "  --shop D          X-Shopify-Shop-Domain (bench-shop.myshopify.com)\n"
               "  --api-version V   X-Shopify-API-Version (2024-10)\n"
               "  --connections N   keep-alive connections (64)\n"
               "  --rate R          fixed rate in requests/s, open loop (default: full load)\n"
               "  --duration S      measured seconds (10)\n"
               "  --warmup S        seconds sent before measuring (2)\n"
               "  --requests N      pre-generated requests (default: enough for the run)\n"
               "  --customers N     customer pool size (100000)\n"
               "  --pid PID         server process: CPU time per webhook and peak RSS from /proc\n"
               "  --seed N          id seed (default: time; ids differ between runs)\n"
               "  --label L         name echoed in the output\n"
               "  --json            print one JSON object instead of the human line\n"
               "  --print-sample    print one generated request and exit\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "loadgen: %s needs a value\n", argv[i]);
        usage(2);
      }
      return argv[++i];
    };
    if (a == "--host") o.host = val();
    else if (a == "--port") o.port = val();
    else if (a == "--path") o.path = val();
    else if (a == "--secret") o.secret = val();
    else if (a == "--shop") o.shop = val();
    else if (a == "--api-version") o.api_version = val();
    else if (a == "--connections") o.connections = std::stoi(val());
    else if (a == "--rate") o.rate = std::stod(val());
    else if (a == "--duration") o.duration = std::stod(val());
    else if (a == "--warmup") o.warmup = std::stod(val());
    else if (a == "--requests") o.requests = std::stol(val());
    else if (a == "--customers") o.customers = std::stol(val());
    else if (a == "--pid") o.pid = std::stol(val());
    else if (a == "--seed") o.seed = std::stoull(val());
    else if (a == "--label") o.label = val();
    else if (a == "--json") o.json = true;
    else if (a == "--print-sample") o.print_sample = true;
    else if (a == "-h" || a == "--help") usage(0);
    else {
      std::fprintf(stderr, "loadgen: unknown option %s\n", argv[i]);
      usage(2);
    }
  }
  if (o.connections < 1 || o.duration <= 0 || o.warmup < 0 || o.customers < 1 || o.rate < 0)
    usage(2);
  return o;
}

// ---------------------------------------------------------------- payloads

struct SplitMix {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

std::string money(int64_t cents) {
  char b[32];
  std::snprintf(b, sizeof b, "%" PRId64 ".%02" PRId64, cents / 100, cents % 100);
  return b;
}

std::string money_set(int64_t cents) {
  std::string m = money(cents);
  return R"({"shop_money":{"amount":")" + m + R"(","currency_code":"USD"},"presentment_money":{"amount":")" +
         m + R"(","currency_code":"USD"}})";
}

std::string timestamp(int64_t epoch) {
  // Shop time zone -04:00, the way Shopify renders it.
  std::time_t t = static_cast<std::time_t>(epoch - 4 * 3600);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[40];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S-04:00", &tm);
  return b;
}

constexpr std::array<const char*, 12> kFirst = {"John", "Jane", "Ava", "Liam", "Noah", "Emma",
                                                "Olivia", "Mia", "Lucas", "Sofia", "Ethan", "Zoe"};
constexpr std::array<const char*, 10> kLast = {"Smith", "Garcia", "Chen", "Muller", "Rossi",
                                               "Dubois", "Tanaka", "Kowalski", "Silva", "Nguyen"};
constexpr std::array<const char*, 8> kProducts = {
    "Aviator sunglasses", "Mid-century lounger", "Merino wool beanie", "Canvas tote bag",
    "Ceramic pour-over set", "Trail running shoes", "Linen shirt", "Leather card wallet"};
constexpr std::array<const char*, 6> kCities = {"Ottawa", "Chicago", "Berlin", "Lyon", "Austin",
                                                "Melbourne"};

// Fixed widths make in-place re-identification possible: the order id has 19 digits, the
// webhook id is a 36-character UUID.
constexpr uint64_t kCustomerBase = 7000000000000000000ULL;
constexpr uint64_t kLineItemBase = 4000000000000000000ULL;

std::string address(const char* first, const char* last, const char* city, uint64_t n,
                    std::string_view extra) {
  std::string s = "{";
  s += extra;
  s += R"("first_name":")"; s += first;
  s += R"(","last_name":")"; s += last;
  s += R"(","company":null,"address1":")" + std::to_string(1 + n % 900) +
       R"( Elm St.","address2":null,"city":")";
  s += city;
  s += R"(","province":"Ontario","country":"Canada","zip":"K2H7A8","phone":"+1613555)" +
       std::to_string(1000 + n % 9000) + R"(","name":")";
  s += first; s += ' '; s += last;
  s += R"(","province_code":"ON","country_code":"CA","country_name":"Canada"})";
  return s;
}

struct Generated {
  std::string body;
  size_t id_pos = 0;  // offsets of the 19 order-id digits in body (two occurrences patched)
  size_t gid_pos = 0;
};

Generated make_order(uint64_t order_id, uint64_t seq, SplitMix& rng, const Options& o,
                     int64_t epoch) {
  const uint64_t cust = rng.below(static_cast<uint64_t>(o.customers));
  const uint64_t cust_id = kCustomerBase + cust;
  const char* first = kFirst[cust % kFirst.size()];
  const char* last = kLast[(cust / kFirst.size()) % kLast.size()];
  const char* city = kCities[cust % kCities.size()];
  std::string email = std::string(first) + "." + last + "." + std::to_string(cust) + "@example.com";
  for (auto& c : email) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string ts = timestamp(epoch);
  const std::string oid = std::to_string(order_id);

  // Line items first: the totals depend on them.
  const int n_items = 1 + static_cast<int>(rng.below(static_cast<uint64_t>(o.line_items_max)));
  int64_t subtotal = 0;
  int grams = 0;
  std::string items = "[";
  for (int k = 0; k < n_items; ++k) {
    const uint64_t p = rng.below(kProducts.size());
    const int64_t price = 500 + static_cast<int64_t>(rng.below(20000));
    const int qty = 1 + static_cast<int>(rng.below(3));
    subtotal += price * qty;
    grams += 100 * qty;
    const std::string li = std::to_string(kLineItemBase + seq * 8 + static_cast<uint64_t>(k));
    const std::string pid = std::to_string(788032119674292922ULL + p);
    const std::string vid = std::to_string(642667041472713922ULL + p * 3);
    if (k) items += ',';
    items += R"({"id":)" + li + R"(,"admin_graphql_api_id":"gid://shopify/LineItem/)" + li +
             R"(","attributed_staffs":[],"current_quantity":)" + std::to_string(qty) +
             R"(,"fulfillable_quantity":)" + std::to_string(qty) +
             R"(,"fulfillment_service":"manual","fulfillment_status":null,"gift_card":false,"grams":100,"name":")" +
             kProducts[p] + R"(","price":")" + money(price) + R"(","price_set":)" + money_set(price) +
             R"(,"product_exists":true,"product_id":)" + pid +
             R"(,"properties":[],"quantity":)" + std::to_string(qty) +
             R"(,"requires_shipping":true,"sales_line_item_group_id":null,"sku":"SKU-)" +
             std::to_string(1000 + p) + R"(","taxable":true,"title":")" + kProducts[p] +
             R"(","total_discount":"0.00","total_discount_set":)" + money_set(0) +
             R"(,"variant_id":)" + vid +
             R"(,"variant_inventory_management":"shopify","variant_title":null,"vendor":"Bench Goods","tax_lines":[],"duties":[],"discount_allocations":[]})";
  }
  items += ']';
  const int64_t shipping = 1000;
  const int64_t tax = subtotal * 13 / 100;
  const int64_t total = subtotal + shipping + tax;

  Generated g;
  std::string& s = g.body;
  s.reserve(8192);
  s += R"({"id":)";
  g.id_pos = s.size();
  s += oid;
  s += R"(,"admin_graphql_api_id":"gid://shopify/Order/)";
  g.gid_pos = s.size();
  s += oid;
  s += R"(","app_id":580111,"browser_ip":"203.0.113.)" + std::to_string(1 + seq % 250) +
       R"(","buyer_accepts_marketing":true,"cancel_reason":null,"cancelled_at":null,"cart_token":null,"checkout_token":"bench)" +
       std::to_string(seq) +
       R"(","client_details":{"accept_language":"en-CA","browser_height":null,"browser_ip":"203.0.113.7","browser_width":null,"session_hash":null,"user_agent":"Mozilla/5.0"},"closed_at":null,"confirmation_number":"B)" +
       std::to_string(100000 + seq % 900000) +
       R"(","confirmed":true,"contact_email":")" + email + R"(","created_at":")" + ts +
       R"(","currency":"USD","current_shipping_price_set":)" + money_set(shipping) +
       R"(,"current_subtotal_price":")" + money(subtotal) + R"(","current_subtotal_price_set":)" +
       money_set(subtotal) +
       R"(,"current_total_additional_fees_set":null,"current_total_discounts":"0.00","current_total_discounts_set":)" +
       money_set(0) + R"(,"current_total_duties_set":null,"current_total_price":")" + money(total) +
       R"(","current_total_price_set":)" + money_set(total) + R"(,"current_total_tax":")" +
       money(tax) + R"(","current_total_tax_set":)" + money_set(tax) +
       R"(,"customer_locale":"en","device_id":null,"discount_codes":[],"duties_included":false,"email":")" +
       email +
       R"(","estimated_taxes":false,"financial_status":"paid","fulfillment_status":null,"landing_site":"/","landing_site_ref":null,"location_id":null,"merchant_business_entity_id":"MTU0ODM4MDAwOQ","merchant_of_record_app_id":null,"name":"#)" +
       std::to_string(1001 + seq) +
       R"(","note":null,"note_attributes":[],"number":)" + std::to_string(1 + seq) +
       R"(,"order_number":)" + std::to_string(1001 + seq) +
       R"(,"order_status_url":"https://bench-shop.myshopify.com/548380009/orders/b)" +
       std::to_string(seq) +
       R"(/authenticate?key=abcdefabcdef","original_total_additional_fees_set":null,"original_total_duties_set":null,"payment_gateway_names":["shopify_payments"],"phone":null,"po_number":null,"presentment_currency":"USD","processed_at":")" +
       ts +
       R"(","reference":null,"referring_site":null,"source_identifier":null,"source_name":"web","source_url":null,"subtotal_price":")" +
       money(subtotal) + R"(","subtotal_price_set":)" + money_set(subtotal) +
       R"(,"tags":"","tax_exempt":false,"tax_lines":[{"price":")" + money(tax) +
       R"(","rate":0.13,"title":"HST","price_set":)" + money_set(tax) +
       R"(,"channel_liable":false}],"taxes_included":false,"test":false,"token":"tok)" +
       std::to_string(seq) + R"(","total_discounts":"0.00","total_discounts_set":)" + money_set(0) +
       R"(,"total_line_items_price":")" + money(subtotal) + R"(","total_line_items_price_set":)" +
       money_set(subtotal) + R"(,"total_outstanding":"0.00","total_price":")" + money(total) +
       R"(","total_price_set":)" + money_set(total) + R"(,"total_shipping_price_set":)" +
       money_set(shipping) + R"(,"total_tax":")" + money(tax) + R"(","total_tax_set":)" +
       money_set(tax) + R"(,"total_tip_received":"0.00","total_weight":)" + std::to_string(grams) +
       R"(,"updated_at":")" + ts + R"(","user_id":null,"billing_address":)" +
       address(first, last, city, cust, "") + R"(,"customer":{"id":)" + std::to_string(cust_id) +
       R"(,"created_at":"2023-01-05T10:00:00-05:00","updated_at":")" + ts +
       R"(","first_name":")" + first + R"(","last_name":")" + last +
       R"(","state":"enabled","note":null,"verified_email":true,"multipass_identifier":null,"tax_exempt":false,"email":")" +
       email +
       R"(","phone":null,"currency":"USD","tax_exemptions":[],"tags":"","admin_graphql_api_id":"gid://shopify/Customer/)" +
       std::to_string(cust_id) + R"(","default_address":)" +
       address(first, last, city, cust,
               R"("id":)" + std::to_string(cust_id - 1000000000000000000ULL) +
                   R"(,"customer_id":)" + std::to_string(cust_id) + ",") +
       R"(},"discount_applications":[],"fulfillments":[],"line_items":)" + items +
       R"(,"payment_terms":null,"refunds":[],"shipping_address":)" +
       address(first, last, city, cust, "") +
       R"(,"shipping_lines":[{"id":)" + std::to_string(271878346596884015ULL + seq) +
       R"(,"carrier_identifier":null,"code":"Standard","discounted_price":")" + money(shipping) +
       R"(","is_removed":false,"phone":null,"price":")" + money(shipping) + R"(","price_set":)" +
       money_set(shipping) +
       R"(,"requested_fulfillment_service_id":null,"source":"shopify","title":"Standard","tax_lines":[],"discount_allocations":[]}],"returns":[],"line_item_groups":[]})";
  return g;
}

// One complete HTTP request, with the offsets needed to give it a fresh identity in place.
struct Request {
  std::string bytes;
  size_t hmac_pos = 0;  // 44 base64 characters
  size_t wid_pos = 0;   // 36-character webhook id
  size_t body_pos = 0;
  size_t id_pos = 0;    // in bytes (body_pos already added)
  size_t gid_pos = 0;
};

std::string webhook_id(uint64_t run, uint64_t n) {
  char b[40];
  std::snprintf(b, sizeof b, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-8%03" PRIx64 "-%012" PRIx64,
                uint64_t{run & 0xffffffffU}, uint64_t{(run >> 32) & 0xffffU},
                uint64_t{(run >> 48) & 0xfffU}, uint64_t{(n >> 48) & 0xfffU},
                uint64_t{n & uint64_t{0xffffffffffff}});
  return b;
}

struct Pool {
  std::vector<Request> reqs;
  uint64_t run_id = 0;
  uint64_t order_base = 0;
  size_t next = 0;
  uint64_t issued = 0;
  uint64_t resigned = 0;
  size_t body_bytes = 0;
};

void build_range(Pool& pool, const Options& o, size_t from, size_t to, int64_t epoch0) {
  SplitMix rng{o.seed ^ (from * 0x2545f4914f6cdd1dULL)};
  for (size_t i = from; i < to; ++i) {
    Generated g = make_order(pool.order_base + i, i, rng, o, epoch0 + static_cast<int64_t>(i / 100));
    Request& r = pool.reqs[i];
    std::string& b = r.bytes;
    b.reserve(g.body.size() + 512);
    b += "POST " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
         "\r\nUser-Agent: Shopify-Captain-Hook\r\nAccept: */*\r\nContent-Type: application/json\r\n"
         "X-Shopify-Topic: orders/create\r\nX-Shopify-Hmac-Sha256: ";
    r.hmac_pos = b.size();
    b += shopify::sign_hmac(g.body, o.secret);
    b += "\r\nX-Shopify-Shop-Domain: " + o.shop + "\r\nX-Shopify-API-Version: " + o.api_version +
         "\r\nX-Shopify-Webhook-Id: ";
    r.wid_pos = b.size();
    b += webhook_id(pool.run_id, i);
    b += "\r\nX-Shopify-Event-Id: " + webhook_id(pool.run_id ^ 0x5555555555555555ULL, i) +
         "\r\nX-Shopify-Triggered-At: 2025-01-01T00:00:00.000000000Z\r\nContent-Length: " +
         std::to_string(g.body.size()) + "\r\n\r\n";
    r.body_pos = b.size();
    r.id_pos = r.body_pos + g.id_pos;
    r.gid_pos = r.body_pos + g.gid_pos;
    b += g.body;
  }
}

// Generation is spread over the cores: it happens before the clock starts.
void build_pool(Pool& pool, const Options& o, size_t count) {
  SplitMix rng{o.seed};
  pool.run_id = rng.next();
  // 19-digit order ids, distinct per run: base in [1e18, 8e18) on a 1e12 grid.
  pool.order_base = 1000000000000000000ULL + (rng.below(7000000) * 1000000000000ULL);
  const int64_t epoch0 = static_cast<int64_t>(std::time(nullptr)) - 86400;
  pool.reqs.resize(count);
  const size_t n = std::max(1U, std::thread::hardware_concurrency());
  std::vector<std::thread> threads;
  for (size_t t = 0; t < n; ++t)
    threads.emplace_back(build_range, std::ref(pool), std::cref(o), count * t / n,
                         count * (t + 1) / n, epoch0);
  for (auto& t : threads) t.join();
  for (auto& r : pool.reqs) pool.body_bytes += r.bytes.size() - r.body_pos;
}

// The next request to send. Past the end of the pool, the oldest entry is re-identified: new
// order id, new webhook id, new signature. The pool is far larger than the number of
// connections, so the entry is no longer being written.
const std::string& take(Pool& pool, const Options& o) {
  Request& r = pool.reqs[pool.next];
  const uint64_t n = pool.issued++;
  if (n >= pool.reqs.size()) {
    const std::string oid = std::to_string(pool.order_base + n);
    std::memcpy(r.bytes.data() + r.id_pos, oid.data(), 19);
    std::memcpy(r.bytes.data() + r.gid_pos, oid.data(), 19);
    const std::string wid = webhook_id(pool.run_id, n);
    std::memcpy(r.bytes.data() + r.wid_pos, wid.data(), 36);
    const std::string_view body(r.bytes.data() + r.body_pos, r.bytes.size() - r.body_pos);
    const std::string mac = shopify::sign_hmac(body, o.secret);
    std::memcpy(r.bytes.data() + r.hmac_pos, mac.data(), 44);
    ++pool.resigned;
  }
  if (++pool.next == pool.reqs.size()) pool.next = 0;
  return r.bytes;
}

// ---------------------------------------------------------------- /proc

struct ProcSample {
  bool ok = false;
  double cpu_s = 0;
};

// The process and its descendants (gunicorn's workers live in children of the master).
std::vector<long> process_tree(long pid) {
  std::vector<long> out;
  if (!pid) return out;
  out.push_back(pid);
  for (size_t i = 0; i < out.size(); ++i) {
    std::ifstream f("/proc/" + std::to_string(out[i]) + "/task/" + std::to_string(out[i]) +
                    "/children");
    long c;
    while (f >> c) out.push_back(c);
  }
  return out;
}

double one_cpu(long pid, bool& ok) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  // Fields after the command name (which may contain spaces) start at state, field 3.
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return 0;
  std::istringstream in(line.substr(rp + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  ok = true;
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

ProcSample proc_cpu(long pid) {
  ProcSample s;
  for (long p : process_tree(pid)) s.cpu_s += one_cpu(p, s.ok);
  return s;
}

// Sum over the process tree (for a single process, just its own figure).
long proc_status_kb(long pid, std::string_view key) {
  long total = -1;
  for (long p : process_tree(pid)) {
    std::ifstream f("/proc/" + std::to_string(p) + "/status");
    std::string line;
    while (std::getline(f, line))
      if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
        total = std::max(total, 0L) + std::strtol(line.c_str() + key.size() + 1, nullptr, 10);
        break;
      }
  }
  return total;
}

// ---------------------------------------------------------------- the run

struct Stats {
  std::vector<uint32_t> lat_us;  // measured completions
  std::map<int, uint64_t> status;
  uint64_t ok = 0;          // 200s completed in the window
  uint64_t completed = 0;   // any status in the window
  uint64_t io_errors = 0;   // connection failures while a request was in flight (any time)
  uint64_t reconnects = 0;  // connections re-opened (server closed or error)
  uint64_t late = 0;        // fixed rate: requests sent more than 1 ms after their due time
};

struct Run {
  asio::io_context io{1};
  Options o;
  Pool pool;
  Stats st;
  tcp::resolver::results_type endpoints;
  Clock::time_point t_start, t_measure, t_end;
  bool stopping = false;
  uint64_t slot = 0;  // fixed rate: next due slot
  int live = 0;
};

bool iequals_prefix(std::string_view s, std::string_view p) {
  if (s.size() < p.size()) return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != p[i]) return false;
  return true;
}

// Reads one response from `sock`; returns the status (0 on a malformed answer) and whether the
// server asked to close.
asio::awaitable<std::pair<int, bool>> read_response(tcp::socket& sock, std::string& buf,
                                                    boost::system::error_code& ec) {
  auto tok = asio::redirect_error(asio::use_awaitable, ec);
  size_t hdr_end = co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n\r\n", tok);
  if (ec) co_return std::pair{0, true};
  std::string_view head(buf.data(), hdr_end);
  int status = 0;
  if (head.size() > 12 && head.starts_with("HTTP/1.")) {
    std::from_chars(head.data() + 9, head.data() + 12, status);
  }
  bool close = head.starts_with("HTTP/1.0");
  size_t content_length = 0;
  bool chunked = false;
  size_t pos = head.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < head.size()) {
    size_t e = head.find("\r\n", pos + 2);
    std::string_view line = head.substr(pos + 2, e - pos - 2);
    if (iequals_prefix(line, "content-length:")) {
      auto v = line.substr(15);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      std::from_chars(v.data(), v.data() + v.size(), content_length);
    } else if (iequals_prefix(line, "connection:")) {
      std::string low(line.substr(11));
      for (auto& c : low) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (low.find("close") != std::string::npos) close = true;
      if (low.find("keep-alive") != std::string::npos) close = false;
    } else if (iequals_prefix(line, "transfer-encoding:")) {
      chunked = line.find("chunked") != std::string_view::npos;
    }
    pos = e;
  }
  buf.erase(0, hdr_end);
  if (chunked) {
    for (;;) {
      size_t n = co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n", tok);
      if (ec) co_return std::pair{status, true};
      size_t size = 0;
      std::from_chars(buf.data(), buf.data() + n, size, 16);
      buf.erase(0, n);
      if (size == 0) {  // trailers: assume none, just the final CRLF
        size_t m = co_await asio::async_read_until(sock, asio::dynamic_buffer(buf), "\r\n", tok);
        if (ec) co_return std::pair{status, true};
        buf.erase(0, m);
        break;
      }
      if (buf.size() < size + 2)
        co_await asio::async_read(sock, asio::dynamic_buffer(buf),
                                  asio::transfer_exactly(size + 2 - buf.size()), tok);
      if (ec) co_return std::pair{status, true};
      buf.erase(0, size + 2);
    }
  } else if (content_length) {
    if (buf.size() < content_length)
      co_await asio::async_read(sock, asio::dynamic_buffer(buf),
                                asio::transfer_exactly(content_length - buf.size()), tok);
    if (ec) co_return std::pair{status, true};
    buf.erase(0, content_length);
  }
  co_return std::pair{status, close};
}

asio::awaitable<void> connection(Run& run) {
  auto& o = run.o;
  tcp::socket sock(run.io);
  asio::steady_timer timer(run.io);
  std::string buf;
  buf.reserve(4096);
  bool connected = false;
  boost::system::error_code ec;
  auto tok = asio::redirect_error(asio::use_awaitable, ec);
  const auto interval =
      o.rate > 0 ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate))
                 : Clock::duration{};

  while (!run.stopping) {
    if (!connected) {
      if (sock.is_open()) sock.close(ec);
      buf.clear();
      co_await asio::async_connect(sock, run.endpoints, tok);
      if (ec) {
        ++run.st.io_errors;
        timer.expires_after(std::chrono::milliseconds(50));
        co_await timer.async_wait(tok);
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      connected = true;
    }
    Clock::time_point sent;
    if (o.rate > 0) {
      const uint64_t k = run.slot++;
      const Clock::time_point due = run.t_start + interval * static_cast<long>(k);
      if (due >= run.t_end) break;
      if (Clock::now() < due) {
        timer.expires_at(due);
        co_await timer.async_wait(tok);
      } else if (Clock::now() - due > std::chrono::milliseconds(1)) {
        ++run.st.late;
      }
      sent = due;  // latency from the due time, not from when we got round to it
    } else {
      sent = Clock::now();
    }
    if (run.stopping) break;
    const std::string& req = take(run.pool, o);
    co_await asio::async_write(sock, asio::buffer(req), tok);
    int status = 0;
    bool close = true;
    if (!ec) {
      auto r = co_await read_response(sock, buf, ec);
      status = r.first;
      close = r.second;
    }
    const auto done = Clock::now();
    if (ec) {
      ++run.st.io_errors;
      connected = false;
      ++run.st.reconnects;
      continue;
    }
    if (done >= run.t_measure && done < run.t_end) {
      ++run.st.completed;
      ++run.st.status[status];
      if (status == 200) ++run.st.ok;
      run.st.lat_us.push_back(static_cast<uint32_t>(
          std::min<int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(done - sent).count(),
                            UINT32_MAX)));
    }
    if (close) {
      connected = false;
      ++run.st.reconnects;
    }
  }
  sock.close(ec);
  if (--run.live == 0) run.io.stop();
}

double pct(const std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  run.o = parse(argc, argv);
  Options& o = run.o;
  if (!o.seed) o.seed = static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^ (uint64_t(getpid()) << 32);

  // Enough pre-generated requests for the whole run at the expected rate; past that, entries are
  // re-identified on the fly (cheap, and reported).
  if (o.print_sample) {
    build_pool(run.pool, o, 1);
    std::fwrite(run.pool.reqs[0].bytes.data(), 1, run.pool.reqs[0].bytes.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  size_t count = static_cast<size_t>(o.requests);
  if (!count) {
    const double secs = o.warmup + o.duration;
    count = o.rate > 0 ? static_cast<size_t>(o.rate * secs * 1.02) + 16
                       : static_cast<size_t>(std::min(20000.0 * secs, 250000.0));
  }
  count = std::max<size_t>(count, static_cast<size_t>(o.connections) * 4);
  const auto g0 = Clock::now();
  build_pool(run.pool, o, count);
  const double gen_s = std::chrono::duration<double>(Clock::now() - g0).count();
  if (!o.json)
    std::fprintf(stderr, "loadgen: %zu requests generated in %.1f s (mean body %zu bytes)\n", count,
                 gen_s, run.pool.body_bytes / count);

  tcp::resolver resolver(run.io);
  boost::system::error_code ec;
  run.endpoints = resolver.resolve(o.host, o.port, ec);
  if (ec) {
    std::fprintf(stderr, "loadgen: cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(),
                 ec.message().c_str());
    return 1;
  }

  using dsec = std::chrono::duration<double>;
  run.t_start = Clock::now();
  run.t_measure = run.t_start + std::chrono::duration_cast<Clock::duration>(dsec(o.warmup));
  run.t_end = run.t_measure + std::chrono::duration_cast<Clock::duration>(dsec(o.duration));
  run.st.lat_us.reserve(o.rate > 0 ? static_cast<size_t>(o.rate * o.duration * 1.1)
                                   : static_cast<size_t>(20000 * o.duration));

  ProcSample cpu0, cpu1;
  asio::steady_timer t_measure(run.io, run.t_measure), t_end(run.io, run.t_end),
      t_grace(run.io, run.t_end + std::chrono::seconds(5));
  t_measure.async_wait([&](auto) { cpu0 = proc_cpu(o.pid); });
  t_end.async_wait([&](auto) {
    cpu1 = proc_cpu(o.pid);
    run.stopping = true;  // connections finish their request in flight and leave
  });
  t_grace.async_wait([&](boost::system::error_code e) {
    if (!e) run.io.stop();  // a server that never answers does not hold us
  });
  run.live = o.connections;
  for (int i = 0; i < o.connections; ++i) asio::co_spawn(run.io, connection(run), asio::detached);
  run.io.run();

  auto& st = run.st;
  std::sort(st.lat_us.begin(), st.lat_us.end());
  const double secs = o.duration;
  const double thr = st.completed / secs;
  const double ok_rate = st.ok / secs;
  const double p50 = pct(st.lat_us, 0.50), p99 = pct(st.lat_us, 0.99), p999 = pct(st.lat_us, 0.999);
  const double mx = st.lat_us.empty() ? 0 : st.lat_us.back() / 1000.0;
  double cpu_us = -1;
  if (cpu0.ok && cpu1.ok && st.ok) cpu_us = (cpu1.cpu_s - cpu0.cpu_s) * 1e6 / static_cast<double>(st.ok);
  const long hwm_kb = proc_status_kb(o.pid, "VmHWM");
  const long rss_kb = proc_status_kb(o.pid, "VmRSS");

  std::string codes;
  for (auto& [c, n] : st.status) {
    if (!codes.empty()) codes += ',';
    codes += "\"" + std::to_string(c) + "\":" + std::to_string(n);
  }
  if (o.json) {
    std::printf(
        "{\"label\":\"%s\",\"mode\":\"%s\",\"rate\":%.0f,\"connections\":%d,\"duration_s\":%.1f,"
        "\"requests_per_s\":%.1f,\"ok_per_s\":%.1f,\"completed\":%" PRIu64 ",\"ok\":%" PRIu64
        ",\"status\":{%s},\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f,"
        "\"cpu_us_per_webhook\":%.1f,\"peak_rss_kb\":%ld,\"rss_kb\":%ld,\"io_errors\":%" PRIu64
        ",\"reconnects\":%" PRIu64 ",\"late\":%" PRIu64 ",\"resigned\":%" PRIu64
        ",\"mean_body_bytes\":%zu}\n",
        o.label.c_str(), o.rate > 0 ? "rate" : "full", o.rate, o.connections, secs, thr, ok_rate,
        st.completed, st.ok, codes.c_str(), p50, p99, p999, mx, cpu_us, hwm_kb, rss_kb,
        st.io_errors, st.reconnects, st.late, run.pool.resigned,
        run.pool.body_bytes / run.pool.reqs.size());
  } else {
    std::string cpu = cpu_us >= 0 ? " cpu " + std::to_string(static_cast<int>(cpu_us + 0.5)) + " us/webhook" : "";
    std::string mem = hwm_kb >= 0 ? " peak-rss " + std::to_string(hwm_kb / 1024) + " MiB" : "";
    std::printf("%s%s%s: %.0f req/s (%.0f ok/s) p50 %.2f ms p99 %.2f ms max %.2f ms status {%s}%s%s"
                " io-errors %" PRIu64 " reconnects %" PRIu64 "%s%s\n",
                o.label.c_str(), o.label.empty() ? "" : " ",
                o.rate > 0 ? ("rate " + std::to_string(static_cast<long>(o.rate)) + "/s").c_str()
                           : ("full load x" + std::to_string(o.connections)).c_str(),
                thr, ok_rate, p50, p99, mx, codes.c_str(), cpu.c_str(), mem.c_str(), st.io_errors,
                st.reconnects,
                st.late ? (" late " + std::to_string(st.late)).c_str() : "",
                run.pool.resigned ? (" resigned " + std::to_string(run.pool.resigned)).c_str() : "");
  }
  return st.ok > 0 ? 0 : 1;
}

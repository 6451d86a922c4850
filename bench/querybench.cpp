// querybench: customer lookups by email over the query Unix socket, closed loop, and their
// latency: what a help desk integration sees when it asks shopsegd who is writing in.
//
// Each of N connections is its own thread with one keep-alive HTTP/1.1 connection: it sends
// `GET /v1/customers/{shop}?email=...`, reads the whole answer, and sends the next at once.
// The HTTP handling is minimal and hand-written (a fixed request, a status line, a
// Content-Length body) so the client adds as little as it can to the figure it measures.
// Latency runs from the first byte written to the last byte of the answer read. Given --pid,
// the daemon's CPU time (user + system, every thread, from /proc/PID/stat) over the measured
// window is divided by the lookups answered in it.
#include <boost/asio.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
using unix_socket = asio::local::stream_protocol;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string socket = "/run/shopseg/query.sock";
  std::string shop = "bench-shop.myshopify.com";
  std::string emails_file;
  long generate = 0;  // emails of loadgen's first N customers
  int connections = 1;
  double duration = 5;
  double warmup = 1;
  long pid = 0;
  bool json = false;
  std::string label;
};

[[noreturn]] void usage(int code) {
  std::fprintf(code ? stderr : stdout,
               "usage: querybench [options]\n"
               "  --socket PATH       the query socket (/run/shopseg/query.sock)\n"
               "  --shop D            shop domain of the lookups (bench-shop.myshopify.com)\n"
               "  --emails-file F     emails to look up, one per line (taken in turn)\n"
               "  --generate N        or: the emails loadgen gives its customers 0..N-1\n"
               "  --connections N     keep-alive connections, one thread each (1)\n"
               "  --duration S        measured seconds (5)\n"
               "  --warmup S          seconds of lookups before measuring (1)\n"
               "  --pid PID           the daemon: its CPU time per lookup from /proc\n"
               "  --label L           name echoed in the output\n"
               "  --json              print one JSON object instead of the human line\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "querybench: %s needs a value\n", argv[i]);
        usage(2);
      }
      return argv[++i];
    };
    if (a == "--socket") o.socket = val();
    else if (a == "--shop") o.shop = val();
    else if (a == "--emails-file") o.emails_file = val();
    else if (a == "--generate") o.generate = std::stol(val());
    else if (a == "--connections") o.connections = std::stoi(val());
    else if (a == "--duration") o.duration = std::stod(val());
    else if (a == "--warmup") o.warmup = std::stod(val());
    else if (a == "--pid") o.pid = std::stol(val());
    else if (a == "--label") o.label = val();
    else if (a == "--json") o.json = true;
    else if (a == "-h" || a == "--help") usage(0);
    else {
      std::fprintf(stderr, "querybench: unknown option %s\n", argv[i]);
      usage(2);
    }
  }
  if (o.connections < 1 || o.duration <= 0 || o.warmup < 0 || (o.emails_file.empty() == (o.generate <= 0))) usage(2);
  return o;
}

// ---------------------------------------------------------------- requests

// loadgen's customer k: first.last.k@example.com, lower-cased (see make_order in loadgen.cpp).
std::string loadgen_email(long k) {
  static constexpr const char* first[] = {"john", "jane", "ava", "liam", "noah", "emma",
                                          "olivia", "mia", "lucas", "sofia", "ethan", "zoe"};
  static constexpr const char* last[] = {"smith", "garcia", "chen", "muller", "rossi",
                                         "dubois", "tanaka", "kowalski", "silva", "nguyen"};
  return std::string(first[k % 12]) + "." + last[(k / 12) % 10] + "." + std::to_string(k) + "@example.com";
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::vector<std::string> make_requests(const Options& o) {
  std::vector<std::string> emails;
  if (!o.emails_file.empty()) {
    std::ifstream f(o.emails_file);
    if (!f) {
      std::fprintf(stderr, "querybench: cannot read %s\n", o.emails_file.c_str());
      std::exit(1);
    }
    for (std::string line; std::getline(f, line);)
      if (!line.empty()) emails.push_back(line);
  } else {
    for (long k = 0; k < o.generate; ++k) emails.push_back(loadgen_email(k));
  }
  if (emails.empty()) {
    std::fprintf(stderr, "querybench: no emails to look up\n");
    std::exit(1);
  }
  std::vector<std::string> requests;
  requests.reserve(emails.size());
  const std::string prefix = "GET /v1/customers/" + percent_encode(o.shop) + "?email=";
  for (const auto& e : emails)
    requests.push_back(prefix + percent_encode(e) + " HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n");
  return requests;
}

// ---------------------------------------------------------------- one connection

struct Sample {
  Clock::time_point start;
  uint32_t ns;  // latency; a lookup over 4 s counts as 4 s
};

struct Worker {
  std::vector<Sample> samples;
  uint64_t errors = 0;      // non-200 answers, broken answers, I/O errors (the connection is reopened)
  uint64_t misses = 0;      // 200 with no customer: an email not in the store
  std::string first_error;
};

// Reads one answer: the status line, headers up to the blank line, a Content-Length body.
// Returns the status (0 when the answer is malformed); `body_empty_list` tells a miss.
int read_answer(unix_socket::socket& s, std::string& buf, bool& no_customer) {
  buf.clear();
  size_t head_end = std::string::npos;
  size_t length = 0;
  for (;;) {
    if (head_end == std::string::npos) {
      head_end = buf.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        // Header names are matched case-insensitively only for the one we need.
        std::string_view head(buf.data(), head_end);
        size_t at = std::string_view::npos;
        for (std::string_view name : {"Content-Length:", "content-length:"})
          if ((at = head.find(name)) != std::string_view::npos) {
            at += name.size();
            break;
          }
        if (at == std::string_view::npos) return 0;
        while (at < head.size() && head[at] == ' ') ++at;
        std::from_chars(head.data() + at, head.data() + head.size(), length);
        head_end += 4;
      }
    }
    if (head_end != std::string::npos && buf.size() >= head_end + length) break;
    char chunk[16384];
    size_t n = s.read_some(asio::buffer(chunk));
    buf.append(chunk, n);
  }
  int status = 0;
  if (buf.size() >= 12 && buf.compare(0, 5, "HTTP/") == 0) std::from_chars(buf.data() + 9, buf.data() + 12, status);
  no_customer = buf.find("\"customers\":[]", head_end) != std::string::npos;
  return status;
}

void run_connection(const Options& o, const std::vector<std::string>& requests, size_t offset,
                    Clock::time_point t_measure, Clock::time_point t_end, Worker& w) {
  asio::io_context io;
  unix_socket::socket s(io);
  std::string buf;
  buf.reserve(16384);
  w.samples.reserve(static_cast<size_t>(o.duration * 40000));
  size_t next = offset;
  while (Clock::now() < t_end) {
    try {
      if (!s.is_open()) s.connect(unix_socket::endpoint(o.socket));
      const std::string& req = requests[next++ % requests.size()];
      const auto start = Clock::now();
      asio::write(s, asio::buffer(req));
      bool no_customer = false;
      const int status = read_answer(s, buf, no_customer);
      const auto done = Clock::now();
      if (status != 200) {
        ++w.errors;
        if (w.first_error.empty()) w.first_error = "status " + std::to_string(status);
        s.close();
        continue;
      }
      if (start < t_measure || start >= t_end) continue;
      if (no_customer) ++w.misses;
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(done - start).count();
      w.samples.push_back({start, static_cast<uint32_t>(std::min<int64_t>(ns, 4'000'000'000))});
    } catch (const std::exception& e) {
      ++w.errors;
      if (w.first_error.empty()) w.first_error = e.what();
      boost::system::error_code ignored;
      s.close(ignored);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
}

// ---------------------------------------------------------------- /proc

// User + system CPU seconds of every thread of PID; negative when unreadable.
double proc_cpu_s(long pid) {
  if (!pid) return -1;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return -1;
  // Fields after the command name (which may contain spaces) start at state, field 3.
  auto rp = line.rfind(')');
  if (rp == std::string::npos) return -1;
  std::istringstream in(line.substr(rp + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double percentile_us(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const auto i = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(i, sorted.size() - 1)] / 1000.0;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto requests = make_requests(o);

  const auto t0 = Clock::now();
  const auto t_measure = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto t_end = t_measure + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  std::vector<Worker> workers(static_cast<size_t>(o.connections));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < workers.size(); ++i) {
    // Connections start at different places in the list, so they do not ask for the same rows.
    const size_t offset = requests.size() * i / workers.size();
    threads.emplace_back(run_connection, std::cref(o), std::cref(requests), offset, t_measure, t_end,
                         std::ref(workers[i]));
  }
  std::this_thread::sleep_until(t_measure);
  const double cpu0 = proc_cpu_s(o.pid);
  std::this_thread::sleep_until(t_end);
  const double cpu1 = proc_cpu_s(o.pid);
  for (auto& t : threads) t.join();

  std::vector<uint32_t> lat;
  uint64_t errors = 0, misses = 0;
  std::string first_error;
  for (auto& w : workers) {
    for (const auto& s : w.samples) lat.push_back(s.ns);
    errors += w.errors;
    misses += w.misses;
    if (first_error.empty()) first_error = w.first_error;
  }
  std::sort(lat.begin(), lat.end());
  const double per_s = static_cast<double>(lat.size()) / o.duration;
  const double p50 = percentile_us(lat, 0.50), p99 = percentile_us(lat, 0.99);
  const double p999 = percentile_us(lat, 0.999), mx = lat.empty() ? 0 : lat.back() / 1000.0;
  const double cpu_us = cpu0 >= 0 && cpu1 >= 0 && !lat.empty() ? (cpu1 - cpu0) * 1e6 / static_cast<double>(lat.size()) : -1;

  if (o.json) {
    std::printf("{\"label\":%s,\"connections\":%d,\"duration_s\":%.1f,\"lookups\":%zu,\"lookups_per_s\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,\"errors\":%" PRIu64
                ",\"misses\":%" PRIu64 ",\"cpu_us_per_lookup\":%.1f,\"first_error\":%s}\n",
                json_string(o.label).c_str(), o.connections, o.duration, lat.size(), per_s, p50, p99, p999, mx,
                errors, misses, cpu_us, json_string(first_error).c_str());
  } else {
    std::printf("%s%s%d connection(s): %.0f lookups/s p50 %.1f us p99 %.1f us p99.9 %.1f us max %.1f us; "
                "errors %" PRIu64 ", misses %" PRIu64 "%s\n",
                o.label.c_str(), o.label.empty() ? "" : ": ", o.connections, per_s, p50, p99, p999, mx, errors,
                misses, cpu_us >= 0 ? (", daemon CPU " + std::to_string(static_cast<int>(cpu_us + 0.5)) + " us/lookup").c_str() : "");
    if (!first_error.empty()) std::printf("first error: %s\n", first_error.c_str());
  }
  return lat.empty() ? 1 : 0;
}

#include "import_command.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "shopify/import.hpp"
#include "socket_client.hpp"

namespace shopseg {
namespace {

namespace http = boost::beast::http;

constexpr std::size_t chunk_records = 16000;             // records per POST ...
constexpr std::uint64_t chunk_bytes = 16 * 1024 * 1024;  // ... or input bytes read, whichever first
constexpr std::size_t max_listed_rejections = 1000;
constexpr std::chrono::seconds chunk_timeout{300};
constexpr int busy_retries = 120;  // one a second: the daemon answers 503 while it is busy

struct position {
  std::uint64_t offset = 0;
  std::uint64_t line = 0;  // lines before `offset`
};

// What the daemon said about one chunk, merged into the totals once it is collected.
struct chunk_answer {
  std::uint64_t imported = 0, unchanged = 0;
  std::vector<std::pair<std::uint64_t, std::string>> rejected;  // input line, reason
};

// A chunk on its way: posted on a thread of its own while the next chunk is read and encoded
// (reading and encoding cost the client about as much as the daemon's decoding), one at a
// time, so chunks are stored in file order and a progress row never passes an unstored chunk.
struct chunk_in_flight {
  std::future<std::optional<failure>> done;
  chunk_answer answer;
  std::size_t records = 0;
  std::uint64_t read_bytes = 0;
};

// The file's identity for its progress row: FNV-1a of its first MiB, and its size.
std::string file_identity(const std::string& path, std::uint64_t size) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> head(1 << 20);
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::uint64_t hash = 1469598103934665603ull;
  for (std::streamsize i = 0; i < in.gcount(); ++i) {
    hash ^= static_cast<unsigned char>(head[static_cast<std::size_t>(i)]);
    hash *= 1099511628211ull;
  }
  char text[64];
  std::snprintf(text, sizeof text, "%016llx-%llu", static_cast<unsigned long long>(hash),
                static_cast<unsigned long long>(size));
  return text;
}

class file_import {
 public:
  file_import(const options& o, const std::string& shop, const std::string& path, progress_meter& meter,
              import_totals& totals)
      : client_(o.admin_socket), shop_(shop), path_(path), meter_(meter), totals_(totals) {}

  std::optional<failure> run(bool restart);

 private:
  std::optional<failure> read_lines(std::ifstream& in, position start);
  std::optional<failure> read_page(std::ifstream& in);
  // Sends the records read so far; `done` (when given) is where the file is complete up to
  // once they are stored.
  std::optional<failure> flush(std::optional<position> done);
  // Waits for the chunk in flight, if any, and adds its answer to the totals.
  std::optional<failure> collect();
  // `lines`: the input line of each record of `body`, to name rejected records.
  std::optional<failure> post(const std::string& query, const std::string& body,
                              const std::vector<std::uint64_t>& lines, chunk_answer& answer,
                              std::optional<position>* stored);
  void take_rejections();

  socket_client client_;
  simdjson::dom::parser parser_;
  std::string shop_, path_, identity_;
  progress_meter& meter_;
  import_totals& totals_;
  shopify::import_reader reader_;
  shopify::import_output out_;
  std::uint64_t sent_ = 0, read_bytes_ = 0, size_ = 0;
  std::unique_ptr<chunk_in_flight> in_flight_;
};

void add_rejection(import_totals& totals, const std::string& file, std::uint64_t line, std::string reason) {
  ++totals.rejected;
  if (totals.rejections.size() < max_listed_rejections) totals.rejections.push_back({file, line, std::move(reason)});
}

void file_import::take_rejections() {
  for (auto& r : out_.rejected) add_rejection(totals_, path_, r.line, std::move(r.reason));
  out_.rejected.clear();
  totals_.skipped += out_.skipped;
  out_.skipped = 0;
}

std::optional<failure> file_import::post(const std::string& query, const std::string& body,
                                         const std::vector<std::uint64_t>& lines,
                                         chunk_answer& answer, std::optional<position>* stored) {
  const std::string target =
      "/v1/import?shop=" + percent_encode(shop_) + "&file=" + identity_ + query;
  const std::string context = "import " + path_;
  for (int attempt = 0;; ++attempt) {
    auto got = call(client_, parser_, http::verb::post, target, context, chunk_timeout, 503, body);
    if (!got) return got.error();
    if (got->status == 503) {
      if (attempt >= busy_retries)
        return failure{exit_code::daemon_error, context + ": the daemon stayed busy; run the same command again to resume"};
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    std::uint64_t imported = 0, unchanged = 0;
    if (got->json["imported"].get(imported) || got->json["unchanged"].get(unchanged))
      return failure{exit_code::daemon_error, context + ": unreadable answer"};
    answer.imported += imported;
    answer.unchanged += unchanged;
    simdjson::dom::array rejections;
    if (!got->json["rejections"].get(rejections)) {
      for (auto r : rejections) {
        std::uint64_t index = 0;
        std::string_view reason;
        if (r["record"].get(index) || r["reason"].get(reason) || index >= lines.size()) continue;
        answer.rejected.emplace_back(lines[index], std::string(reason));
      }
    }
    if (stored) {
      simdjson::dom::object progress;
      if (!got->json["progress"].get(progress)) {
        std::uint64_t offset = 0, line = 0;
        if (!progress["offset"].get(offset) && !progress["line"].get(line)) *stored = position{offset, line};
      }
    }
    return std::nullopt;
  }
}

std::optional<failure> file_import::flush(std::optional<position> done) {
  take_rejections();
  if (out_.records.empty() && !done) return std::nullopt;
  std::string body;
  std::vector<std::uint64_t> lines;
  lines.reserve(out_.records.size());
  for (const auto& r : out_.records) {
    shopify::append_wire_line(body, r.value);
    lines.push_back(r.line);
  }
  std::string query;
  if (done) {
    // A child still waiting for its parent was read but not sent: a resume starts at its line.
    if (auto pending = reader_.oldest_pending()) done = position{pending->offset, pending->line - 1};
    query = "&offset=" + std::to_string(done->offset) + "&line=" + std::to_string(done->line);
  }
  if (auto f = collect()) return f;
  auto chunk = std::make_unique<chunk_in_flight>();
  chunk->records = out_.records.size();
  chunk->read_bytes = read_bytes_;
  chunk->done =
      std::async(std::launch::async,
                 [this, query = std::move(query), body = std::move(body), lines = std::move(lines),
                  answer = &chunk->answer] { return post(query, body, lines, *answer, nullptr); });
  in_flight_ = std::move(chunk);
  out_.records.clear();
  return std::nullopt;
}

std::optional<failure> file_import::collect() {
  if (!in_flight_) return std::nullopt;
  const std::unique_ptr<chunk_in_flight> chunk = std::move(in_flight_);
  if (auto f = chunk->done.get()) return f;
  totals_.imported += chunk->answer.imported;
  totals_.unchanged += chunk->answer.unchanged;
  for (auto& [line, reason] : chunk->answer.rejected)
    add_rejection(totals_, path_, line, std::move(reason));
  sent_ += chunk->records;
  meter_.update(sent_, chunk->read_bytes);
  return std::nullopt;
}

std::optional<failure> file_import::read_lines(std::ifstream& in, position start) {
  in.seekg(static_cast<std::streamoff>(start.offset));
  std::uint64_t line = start.line, offset = start.offset, since_flush = 0;
  for (std::string text; std::getline(in, text);) {
    ++line;
    reader_.feed_line(text, line, offset, out_);
    offset = std::min(size_, offset + text.size() + 1);
    since_flush += text.size() + 1;
    read_bytes_ = offset;
    if (out_.records.size() >= chunk_records || since_flush >= chunk_bytes) {
      if (auto f = flush(position{offset, line})) return f;
      since_flush = 0;
    }
  }
  if (in.bad()) return failure{exit_code::usage, "import " + path_ + ": read error"};
  totals_.orphans += reader_.finish(out_);
  if (auto f = flush(position{size_, line})) return f;
  return collect();
}

// A page spread over the file: read whole, sent in chunks, complete only with the last one.
std::optional<failure> file_import::read_page(std::ifstream& in) {
  std::string document(size_, '\0');
  in.read(document.data(), static_cast<std::streamsize>(size_));
  read_bytes_ = size_;
  const std::uint64_t lines = static_cast<std::uint64_t>(std::count(document.begin(), document.end(), '\n'));
  reader_.feed_page(document, 1, 0, out_);
  std::vector<shopify::import_record> all = std::move(out_.records);
  out_.records.clear();
  for (std::size_t i = 0; i < all.size(); i += chunk_records) {
    const std::size_t end = std::min(all.size(), i + chunk_records);
    out_.records.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(i)),
                        std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(end)));
    if (auto f = flush(end == all.size() ? std::optional<position>(position{size_, lines}) : std::nullopt)) return f;
  }
  if (all.empty()) {
    if (auto f = flush(position{size_, lines})) return f;
  }
  return collect();
}

std::optional<failure> file_import::run(bool restart) {
  std::error_code ec;
  size_ = std::filesystem::file_size(path_, ec);
  std::ifstream in(path_, std::ios::binary);
  if (ec || !in) return failure{exit_code::usage, "import " + path_ + ": cannot read the file: " +
                                                      (ec ? ec.message() : std::string(std::strerror(errno)))};
  identity_ = file_identity(path_, size_);
  std::optional<position> stored;
  chunk_answer none;
  if (auto f = post("", "", {}, none, &stored)) return f;
  position start = restart || !stored ? position{} : *stored;
  if (start.offset >= size_ && stored && !restart) {
    std::fprintf(stderr, "%s: already imported (shopseg import --restart imports it again)\n", path_.c_str());
    return std::nullopt;
  }
  if (start.offset > 0) std::fprintf(stderr, "%s: resuming at line %llu\n", path_.c_str(), static_cast<unsigned long long>(start.line + 1));
  meter_.start(std::filesystem::path(path_).filename().string(), size_, start.offset);
  std::optional<failure> result;
  std::string first;
  if (start.offset == 0 && std::getline(in, first) && shopify::starts_multiline_page(first)) {
    in.clear();
    in.seekg(0);
    std::string probe(size_, '\0');
    in.read(probe.data(), static_cast<std::streamsize>(size_));
    shopify::import_reader check;
    shopify::import_output ignored;
    if (check.feed_page(probe, 1, 0, ignored)) {
      in.clear();
      in.seekg(0);
      result = read_page(in);
      meter_.finish(sent_, read_bytes_);
      return result;
    }
  }
  in.clear();
  result = read_lines(in, start);
  meter_.finish(sent_, read_bytes_);
  return result;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') out += '\\', out += ch;
    else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else out += ch;
  }
  return out + "\"";
}

}  // namespace

std::optional<failure> import_file(const options& o, const std::string& shop, const std::string& path, bool restart,
                                   progress_meter& meter, import_totals& totals) {
  file_import one(o, shop, path, meter, totals);
  return one.run(restart);
}

void print_import_summary(const options& o, const import_totals& t) {
  if (o.json) {
    std::string rejections = "[";
    for (const auto& r : t.rejections) {
      if (rejections.size() > 1) rejections += ',';
      rejections += "{\"file\":" + json_string(r.file) + ",\"line\":" + std::to_string(r.line) +
                    ",\"reason\":" + json_string(r.reason) + "}";
    }
    rejections += "]";
    std::printf("{\"imported\":%llu,\"unchanged\":%llu,\"rejected\":%llu,\"skipped\":%llu,\"rejections\":%s}\n",
                static_cast<unsigned long long>(t.imported), static_cast<unsigned long long>(t.unchanged),
                static_cast<unsigned long long>(t.rejected), static_cast<unsigned long long>(t.skipped),
                rejections.c_str());
    return;
  }
  std::printf("imported   %llu\nunchanged  %llu\nrejected   %llu\nskipped    %llu\n",
              static_cast<unsigned long long>(t.imported), static_cast<unsigned long long>(t.unchanged),
              static_cast<unsigned long long>(t.rejected), static_cast<unsigned long long>(t.skipped));
  if (t.orphans > 0)
    std::printf("note: %llu orders came without their customer's line; they were imported under the customer id "
                "their __parentId names\n", static_cast<unsigned long long>(t.orphans));
  for (const auto& r : t.rejections)
    std::printf("%s:%llu: %s\n", r.file.c_str(), static_cast<unsigned long long>(r.line), r.reason.c_str());
  if (t.rejected > t.rejections.size())
    std::printf("... and %llu more rejected lines\n", static_cast<unsigned long long>(t.rejected - t.rejections.size()));
}

int import_exit_code(const import_totals& t) { return t.rejected > 0 ? static_cast<int>(exit_code::rejected) : 0; }

int import_files(const options& o, const std::string& shop, const std::vector<std::string>& files, bool restart) {
  progress_meter meter(stderr, ::isatty(STDERR_FILENO) == 1);
  import_totals totals;
  for (const auto& file : files) {
    if (auto f = import_file(o, shop, file, restart, meter, totals)) {
      std::fflush(stdout);
      print_import_summary(o, totals);
      return report(*f);
    }
  }
  std::fflush(stderr);
  print_import_summary(o, totals);
  return import_exit_code(totals);
}

}  // namespace shopseg

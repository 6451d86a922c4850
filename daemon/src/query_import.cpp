// POST /v1/import?shop=DOMAIN[&file=ID&offset=N&line=L] (admin): one chunk of records in the
// import wire format (shopify/import.hpp: "o\t" or "c\t" and a REST-shaped object, one per
// line). The session decodes the chunk, so the writer gets plain events: it queues the chunk
// first and hands the records over in pieces as it decodes them, so the writer applies the
// first batch while the rest is decoded (ingest_import.cpp); the answer says what became of them:
//   {"received": N, "imported": N, "unchanged": N, "rejected": N,
//    "rejections": [{"record": INDEX, "reason": "..."}],
//    "progress": {"offset": N, "line": N} | null}
// `progress` is what the progress row of `file` held before this chunk (a client resumes
// there); with offset and line the row is set to them once the whole chunk is committed.
#include <algorithm>
#include <charconv>

#include "apply.hpp"
#include "ingest.hpp"
#include "query_context.hpp"
#include "shopify/decode.hpp"
#include "shopify/import.hpp"

namespace shopsegd {
namespace {

struct rejection {
  std::size_t record;
  std::string reason;
};

// "OFFSET LINE" -> {"offset": OFFSET, "line": LINE}; anything else -> null.
void write_progress(json_writer& w, const std::optional<std::string>& stored) {
  std::uint64_t offset = 0, line = 0;
  if (stored) {
    const char* p = stored->data();
    const char* end = p + stored->size();
    auto a = std::from_chars(p, end, offset);
    if (a.ec == std::errc{} && a.ptr < end && *a.ptr == ' ' &&
        std::from_chars(a.ptr + 1, end, line).ec == std::errc{}) {
      w.key("progress").begin_object().field("offset", offset).field("line", line).end_object();
      return;
    }
  }
  w.key("progress").null();
}

response import_answer(std::optional<import_result> result, std::size_t received, const std::vector<rejection>& rejected,
                       unsigned version, bool keep_alive) {
  auto fail = [&](std::string_view code, std::string_view message) {
    return reply(http::status::service_unavailable, error_json(code, message), version, keep_alive);
  };
  if (!result) return fail("overloaded", "too many imports are waiting; retry shortly");
  if (result->failure)
    return fail("store_unavailable", "the store could not apply the chunk (records before the failure are stored); retry shortly");
  json_writer w;
  w.begin_object()
      .field("received", static_cast<std::uint64_t>(received))
      .field("imported", static_cast<std::uint64_t>(result->imported))
      .field("unchanged", static_cast<std::uint64_t>(result->unchanged))
      .field("rejected", static_cast<std::uint64_t>(rejected.size()))
      .key("rejections")
      .begin_array();
  for (const auto& r : rejected)
    w.begin_object().field("record", static_cast<std::uint64_t>(r.record)).field("reason", r.reason).end_object();
  w.end_array();
  write_progress(w, result->progress);
  w.end_object();
  return reply(http::status::ok, w.take(), version, keep_alive);
}

}  // namespace

answer query_api::import(const context& c) {
  const auto shop = c.arg("shop");
  if (!shop || shop->empty()) return c.fail(http::status::bad_request, "bad_shop", "shop is required");
  import_chunk chunk;
  chunk.shop = *shop;
  if (auto file = c.arg("file"); file && !file->empty()) {
    chunk.progress_key = import_progress_key(*shop, *file);
    const auto offset = c.arg("offset"), line = c.arg("line");
    if (offset || line) {
      if (!offset || !line || !parse_id(*offset) || !parse_id(*line))
        return c.fail(http::status::bad_request, "bad_progress", "offset and line must both be given, as numbers");
      chunk.progress_value = *offset + " " + *line;
    }
  }
  // What decoding found, read by the answer once the writer is done.
  struct decoding {
    std::vector<rejection> rejected;
    std::size_t received = 0;
  };
  auto found = std::make_shared<decoding>();
  std::string_view body = c.req.body();
  chunk.events.reserve(static_cast<std::size_t>(std::count(body.begin(), body.end(), '\n')) + 1);
  chunk.feed = std::make_shared<import_feed>();
  // Runs once the chunk is queued; the request (and so `body`) outlives the answer.
  auto decode = [body, found, feed = chunk.feed](ingest& pipeline) mutable {
    thread_local shopify::decoder decoder;
    std::vector<store::import_item> piece;
    piece.reserve(import_feed_records);
    std::size_t index = 0;
    while (!body.empty()) {
      const std::size_t newline = body.find('\n');
      std::string_view record = body.substr(0, newline);
      body = newline == std::string_view::npos ? std::string_view() : body.substr(newline + 1);
      const shopify::topic t = record.size() > 2 && record[1] == '\t'
                                   ? shopify::wire_topic(record[0])
                                   : shopify::topic::unknown;
      const std::size_t at = index++;
      if (t == shopify::topic::unknown) {
        found->rejected.push_back(
            {at, "not an import record (\"o\" or \"c\", a tab, a JSON object)"});
        continue;
      }
      auto decoded = decoder.decode(t, record.substr(2));
      if (!decoded)
        found->rejected.push_back({at, std::move(decoded.error().reason)});
      else if (auto item = import_item_of(std::move(*decoded)))  // the decoder gives upserts only
        piece.push_back(std::move(*item));
      if (piece.size() >= import_feed_records) {
        pipeline.feed_import(*feed, std::move(piece), false);
        piece = {};
        piece.reserve(import_feed_records);
      }
    }
    found->received = index;
    pipeline.feed_import(*feed, std::move(piece), true);
  };
  return submit_import{std::move(chunk), std::move(decode),
                       [found, version = c.req.version(),
                        keep_alive = c.req.keep_alive()](std::optional<import_result> r) {
                         return import_answer(std::move(r), found->received, found->rejected,
                                              version, keep_alive);
                       }};
}

}  // namespace shopsegd

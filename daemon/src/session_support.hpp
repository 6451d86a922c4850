// What the webhook and the query sessions share (internal to daemon/src): the hand-offs of a
// delivery or an import chunk to the writer as awaitable operations, and the pause after a
// failed accept.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>

#include "ingest.hpp"

namespace shopsegd {

namespace asio = boost::asio;

inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

// Waits for the writer's verdict on a delivery. nullopt: the queue was full.
// `retry_of`: the delivery is a quarantine entry's body (see ingest::submit).
template <class Token>
auto async_submit(ingest& pipeline, delivery&& d, Token&& token, std::optional<std::int64_t> retry_of = std::nullopt) {
  return asio::async_initiate<Token, void(std::optional<ingest_status>)>(
      [&pipeline, retry_of](auto handler, delivery&& d) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        bool queued = pipeline.submit(std::move(d), [shared, ex](ingest_status s) {
          asio::post(ex, [shared, s]() mutable { (*shared)(std::optional<ingest_status>(s)); });
        }, retry_of);
        if (!queued)
          asio::post(ex, [shared]() mutable { (*shared)(std::optional<ingest_status>()); });
      },
      token, std::move(d));
}

// Waits for the writer's result of an import chunk. nullopt: too many chunks were waiting.
// `decode` (may be empty) runs once the chunk is queued, on the caller's thread, and feeds the
// chunk's records to the writer as it decodes them.
template <class Token>
auto async_import(ingest& pipeline, import_chunk&& chunk, std::function<void(ingest&)> decode,
                  Token&& token) {
  return asio::async_initiate<Token, void(std::optional<import_result>)>(
      [&pipeline, decode = std::move(decode)](auto handler, import_chunk&& chunk) {
        auto ex = asio::get_associated_executor(handler);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        bool queued = pipeline.submit_import(std::move(chunk), [shared, ex](import_result r) {
          asio::post(ex, [shared, r = std::move(r)]() mutable { (*shared)(std::optional<import_result>(std::move(r))); });
        });
        if (!queued) {
          asio::post(ex, [shared]() mutable { (*shared)(std::optional<import_result>()); });
          return;
        }
        if (decode) decode(pipeline);
      },
      token, std::move(chunk));
}

// An accept failed for want of descriptors (EMFILE, ENFILE) or memory. The connection stays in
// the backlog, so accepting again at once fails again at once and would spin the thread the
// sessions need to finish and free descriptors: pause instead.
asio::awaitable<void> pause_accepting(const boost::system::error_code& ec);

}  // namespace shopsegd

// decoder: validates the whole body with simdjson's DOM parser, then hands the root object to
// the topic's decoder from a table.
#include "shopify/decode.hpp"

#include <simdjson.h>

#include <array>
#include <cstring>
#include <stdexcept>

#include "decode_topics.hpp"

namespace shopify {
namespace {

using detail::topic_decoder;

// Indexed by topic, in enum order; unknown is handled before the lookup.
constexpr std::array<topic_decoder, static_cast<std::size_t>(topic::unknown)> decoders{
    detail::decode_order_upsert,        // orders/create
    detail::decode_order_upsert,        // orders/updated
    detail::decode_order_upsert,        // orders/paid
    detail::decode_order_upsert,        // orders/cancelled
    detail::decode_order_upsert,        // orders/fulfilled
    detail::decode_order_upsert,        // orders/partially_fulfilled
    detail::decode_order_delete,        // orders/delete
    detail::decode_order_edited,        // orders/edited
    detail::decode_refund,              // refunds/create
    detail::decode_customer_upsert,     // customers/create
    detail::decode_customer_upsert,     // customers/update
    detail::decode_customer_upsert,     // customers/enable
    detail::decode_customer_upsert,     // customers/disable
    detail::decode_customer_delete,     // customers/delete
    detail::decode_customer_merge,      // customers/merge
    detail::decode_tags_change,         // customer.tags_added
    detail::decode_tags_change,         // customer.tags_removed
    detail::decode_purchasing_summary,  // customers/purchasing_summary
    detail::decode_data_request,        // customers/data_request
    detail::decode_customer_redact,     // customers/redact
    detail::decode_shop_redact,         // shop/redact
    detail::decode_app_uninstalled,     // app/uninstalled
};

}  // namespace

struct decoder::impl {
  simdjson::dom::parser parser;
  // The body plus SIMDJSON_PADDING bytes, grown as needed and reused across calls.
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;

  std::string_view padded_copy(std::string_view body) {
    if (capacity < body.size() + simdjson::SIMDJSON_PADDING) {
      capacity = body.size() + simdjson::SIMDJSON_PADDING;
      buffer = std::make_unique<char[]>(capacity);
    }
    if (!body.empty()) std::memcpy(buffer.get(), body.data(), body.size());
    std::memset(buffer.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
    return {buffer.get(), body.size()};
  }
};

decoder::decoder() : impl_(std::make_unique<impl>()) {}
decoder::~decoder() = default;
decoder::decoder(decoder&&) noexcept = default;
decoder& decoder::operator=(decoder&&) noexcept = default;

boost::system::result<event, decode_error> decoder::decode(topic t, std::string_view body) {
  if (t == topic::unknown) return event{unknown_topic{}};
  const auto index = static_cast<std::size_t>(t);
  if (index >= decoders.size()) return event{unknown_topic{}};

  const std::string_view copy = impl_->padded_copy(body);
  // The DOM parser validates the whole document (grammar, UTF-8, a single value, depth) before
  // we read anything, so a body is never half-applied.
  simdjson::dom::element root;
  if (const auto error = impl_->parser.parse(copy.data(), copy.size(), false).get(root)) {
    return decode_error{std::string("invalid JSON: ") + simdjson::error_message(error)};
  }
  simdjson::dom::object object;
  if (root.get_object().get(object) != simdjson::SUCCESS) {
    return decode_error{"invalid payload: the root is not a JSON object"};
  }
  std::optional<decode_error> failure;
  detail::object_reader reader(object, "", failure);
  event decoded = decoders[index](reader, t);
  if (failure) return std::move(*failure);
  return decoded;
}

[[noreturn]] void throw_exception_from_error(const decode_error& e,
                                             const boost::source_location& /*loc*/) {
  throw std::runtime_error("shopify decode error: " + e.reason);
}

}  // namespace shopify

// Payload decoding: a verified webhook body and its topic -> one plain event.
//
// The whole body is validated (RFC 8259, UTF-8, a single object) before anything is read from
// it, so a delivery is either applied entirely or quarantined entirely.
#pragma once

#include <boost/system/result.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "shopify/events.hpp"

namespace shopify {

// Why a verified delivery cannot be applied. `reason` is for the operator: it names the field
// or the JSON error, and never quotes payload values (they may be PII).
struct decode_error {
  std::string reason;
};

// Topics shopseg knows, as in SPEC §1.
enum class topic {
  orders_create, orders_updated, orders_paid, orders_cancelled, orders_fulfilled,
  orders_partially_fulfilled, orders_delete, orders_edited, refunds_create,
  customers_create, customers_update, customers_enable, customers_disable, customers_delete,
  customers_merge, customer_tags_added, customer_tags_removed, customers_purchasing_summary,
  customers_data_request, customers_redact, shop_redact, app_uninstalled, unknown
};

// "orders/create" -> topic::orders_create; anything else -> topic::unknown.
topic topic_from_name(std::string_view name) noexcept;
// The canonical name ("orders/create"); "unknown" for topic::unknown.
std::string_view topic_name(topic t) noexcept;

// Decodes bodies. Holds a simdjson parser and its buffers, reused across calls: one decoder per
// thread (not thread-safe). `body` needs no padding; the decoder copies it into its own buffer.
class decoder {
 public:
  decoder();
  ~decoder();
  decoder(decoder&&) noexcept;
  decoder& operator=(decoder&&) noexcept;

  // The event of `body` for topic `t`. topic::unknown gives unknown_topic without reading the
  // body. Errors: invalid JSON anywhere, not an object, a required field missing or of the
  // wrong type (an order's id and updated_at, a customer's id, ...), an id that is not a
  // 64-bit unsigned integer, money that is not an exact decimal.
  boost::system::result<event, decode_error> decode(topic t, std::string_view body);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace shopify

namespace shopify {
// Lets boost::system::result<T, decode_error>::value() throw (bugs only; callers test first).
[[noreturn]] void throw_exception_from_error(const decode_error& e,
                                             const boost::source_location& loc);
}  // namespace shopify

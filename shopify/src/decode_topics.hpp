// The per-topic decoders behind decoder::decode. Each reads one payload's root object and
// returns its event; failures are recorded in the reader's sink, and the returned event is then
// meaningless.
#pragma once

#include "object_reader.hpp"
#include "shopify/decode.hpp"

namespace shopify::detail {

using topic_decoder = event (*)(object_reader& root, topic t);

// decode_orders.cpp
event decode_order_upsert(object_reader& root, topic t);
event decode_order_delete(object_reader& root, topic t);
event decode_order_edited(object_reader& root, topic t);
event decode_refund(object_reader& root, topic t);

// decode_customers.cpp
customer_snapshot read_customer_snapshot(object_reader& customer);
event decode_customer_upsert(object_reader& root, topic t);
event decode_customer_delete(object_reader& root, topic t);
event decode_customer_merge(object_reader& root, topic t);
event decode_tags_change(object_reader& root, topic t);
event decode_purchasing_summary(object_reader& root, topic t);

// decode_privacy.cpp
event decode_data_request(object_reader& root, topic t);
event decode_customer_redact(object_reader& root, topic t);
event decode_shop_redact(object_reader& root, topic t);
event decode_app_uninstalled(object_reader& root, topic t);

}  // namespace shopify::detail

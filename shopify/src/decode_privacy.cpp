// Decoders of the mandatory privacy topics and app/uninstalled.
#include "decode_topics.hpp"

namespace shopify::detail {

event decode_data_request(object_reader& root, topic /*t*/) {
  data_request request;
  if (auto customer = root.required_object("customer")) request.customer_id = customer->required_id("id");
  request.orders_requested = root.id_array("orders_requested");
  if (auto details = root.optional_object("data_request")) request.request_id = details->optional_id("id");
  return request;
}

event decode_customer_redact(object_reader& root, topic /*t*/) {
  customer_redact redact;
  if (auto customer = root.required_object("customer")) redact.customer_id = customer->required_id("id");
  redact.orders_to_redact = root.id_array("orders_to_redact");
  return redact;
}

event decode_shop_redact(object_reader& /*root*/, topic /*t*/) { return shop_redact{}; }

event decode_app_uninstalled(object_reader& /*root*/, topic /*t*/) { return app_uninstalled{}; }

}  // namespace shopify::detail

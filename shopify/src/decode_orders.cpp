// Decoders of orders/* and refunds/create payloads (REST shape: integer ids, decimal strings).
#include "decode_topics.hpp"
#include "shopify/money.hpp"

namespace shopify::detail {
namespace {

// The order's net amount in shop money: current_total_price_set.shop_money (which nets refunds
// and edits), else the older current_total_price + currency pair.
void read_net_amount(object_reader& order, order_upsert& out) {
  if (auto price_set = order.optional_object("current_total_price_set")) {
    if (auto shop_money = price_set->optional_object("shop_money")) {
      out.currency = shop_money->required_string("currency_code");
      out.net_amount_minor =
          shop_money->required_money("amount", currency_exponent(out.currency));
      return;
    }
  }
  out.currency = order.required_string("currency");
  out.net_amount_minor = order.required_money("current_total_price", currency_exponent(out.currency));
}

// Refund transactions usually carry no currency; the refund's own *_set fields do.
std::string refund_fallback_currency(object_reader& refund) {
  if (auto duties = refund.optional_object("total_duties_set")) {
    if (auto shop_money = duties->optional_object("shop_money")) {
      if (auto code = shop_money->optional_string("currency_code")) return *code;
    }
  }
  return refund.string_or_empty("currency");
}

}  // namespace

event decode_order_upsert(object_reader& root, topic /*t*/) {
  order_upsert order;
  order.order_id = root.required_id("id");
  order.updated_at_ms = root.required_time("updated_at");
  order.created_at_ms = root.optional_time("created_at").value_or(order.updated_at_ms);
  order.processed_at_ms = root.optional_time("processed_at").value_or(order.created_at_ms);
  if (auto customer = root.optional_object("customer")) {
    order.customer = read_customer_snapshot(*customer);
    order.customer_id = order.customer->customer_id;
  }
  order.name = root.string_or_empty("name");
  order.email = root.string_or_empty("email");
  read_net_amount(root, order);
  order.test = root.bool_or("test", false);
  order.cancelled_at_ms = root.optional_time("cancelled_at");
  order.financial_status = root.string_or_empty("financial_status");
  order.fulfillment_status = root.string_or_empty("fulfillment_status");
  return order;
}

event decode_order_delete(object_reader& root, topic /*t*/) {
  return order_delete{root.required_id("id")};
}

event decode_order_edited(object_reader& root, topic /*t*/) {
  if (auto edit = root.optional_object("order_edit")) return order_edited{edit->required_id("order_id")};
  return order_edited{root.required_id("id")};
}

event decode_refund(object_reader& root, topic /*t*/) {
  refund_created refund;
  refund.refund_id = root.required_id("id");
  refund.order_id = root.required_id("order_id");
  refund.created_at_ms = root.optional_time("created_at")
                             .value_or(root.optional_time("processed_at").value_or(0));
  refund.currency = refund_fallback_currency(root);
  const auto transactions = root.find("transactions");
  simdjson::dom::array array;
  if (!transactions) return refund;
  if (transactions->get_array().get(array) != simdjson::SUCCESS) {
    root.fail("transactions", "not an array");
    return refund;
  }
  for (simdjson::dom::element item : array) {
    simdjson::dom::object object;
    if (item.get_object().get(object) != simdjson::SUCCESS) {
      root.fail("transactions[]", "not an object");
      break;
    }
    object_reader transaction = root.nested(object, "transactions[]");
    if (transaction.string_or_empty("kind") != "refund" ||
        transaction.string_or_empty("status") != "success") {
      continue;
    }
    if (auto currency = transaction.optional_string("currency")) refund.currency = *currency;
    const std::int64_t amount =
        transaction.required_money("amount", currency_exponent(refund.currency));
    if (__builtin_add_overflow(refund.amount_minor, amount, &refund.amount_minor)) {
      root.fail("transactions[].amount", "sum out of range");
      break;
    }
  }
  return refund;
}

}  // namespace shopify::detail

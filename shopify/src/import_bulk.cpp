// Bulk-operation lines -> events. The GraphQL names map onto the REST ones the webhook decoders
// read: processedAt/processed_at, currentTotalPriceSet.shopMoney/current_total_price_set.
// shop_money, the enums (state ENABLED, displayFinancialStatus VOIDED) lower-cased.
#include "import_bulk.hpp"

#include <algorithm>
#include <cctype>

#include "shopify/money.hpp"

namespace shopify::detail {
namespace {

struct gid {
  std::string_view type;
  std::string_view rest;
};

// "gid://shopify/Order/123" -> {"Order", "123"}; empty type for anything else.
gid split_gid(std::string_view text) {
  constexpr std::string_view prefix = "gid://shopify/";
  if (!text.starts_with(prefix)) return {};
  text.remove_prefix(prefix.size());
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return {};
  return {text.substr(0, slash), text.substr(slash + 1)};
}

std::optional<std::string> lowered(std::optional<std::string> text) {
  if (text) std::transform(text->begin(), text->end(), text->begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// The customer's email and phone: the plain fields, or the newer API's default contact objects.
std::optional<std::string> contact(object_reader& r, std::string_view plain, std::string_view holder,
                                   std::string_view field) {
  if (r.find(plain)) return r.optional_string(plain);
  if (auto object = r.optional_object(holder)) return object->optional_string(field);
  return std::nullopt;
}

customer_snapshot bulk_customer(object_reader& r) {
  customer_snapshot c;
  c.customer_id = r.required_id("id");
  c.email = contact(r, "email", "defaultEmailAddress", "emailAddress");
  c.phone = contact(r, "phone", "defaultPhoneNumber", "phoneNumber");
  c.first_name = r.optional_string("firstName");
  c.last_name = r.optional_string("lastName");
  c.state = lowered(r.optional_string("state"));
  c.created_at_ms = r.optional_time("createdAt");
  c.updated_at_ms = r.optional_time("updatedAt").value_or(0);
  c.tags = r.optional_tags("tags");
  return c;
}

order_upsert bulk_order(object_reader& r) {
  order_upsert o;
  o.order_id = r.required_id("id");
  o.updated_at_ms = r.required_time("updatedAt");
  o.created_at_ms = r.optional_time("createdAt").value_or(o.updated_at_ms);
  o.processed_at_ms = r.optional_time("processedAt").value_or(o.created_at_ms);
  o.name = r.string_or_empty("name");
  o.email = r.string_or_empty("email");
  if (auto set = r.required_object("currentTotalPriceSet")) {
    if (auto money = set->required_object("shopMoney")) {
      o.currency = money->required_string("currencyCode");
      o.net_amount_minor = money->required_money("amount", currency_exponent(o.currency));
    }
  }
  o.test = r.bool_or("test", false);
  o.cancelled_at_ms = r.optional_time("cancelledAt");
  o.financial_status = lowered(r.optional_string("displayFinancialStatus")).value_or("");
  o.fulfillment_status = lowered(r.optional_string("displayFulfillmentStatus")).value_or("");
  if (auto customer = r.optional_object("customer")) {
    o.customer = bulk_customer(*customer);
    o.customer_id = o.customer->customer_id;
  }
  return o;
}

}  // namespace

bulk_line decode_bulk_line(object_reader& root) {
  bulk_line line;
  const std::string id_text = root.required_string("id");
  const gid own = split_gid(id_text);
  if (own.type == "Customer") {
    line.kind = bulk_kind::customer;
    line.value = customer_upsert{bulk_customer(root)};
    return line;
  }
  if (own.type != "Order") return line;
  line.kind = bulk_kind::order;
  order_upsert order = bulk_order(root);
  if (auto parent = root.optional_string("__parentId")) {
    if (split_gid(*parent).type == "Customer") {
      line.parent_customer = root.required_id("__parentId");
      if (!order.customer_id) order.customer_id = line.parent_customer;
    }
  }
  line.value = std::move(order);
  return line;
}

}  // namespace shopify::detail

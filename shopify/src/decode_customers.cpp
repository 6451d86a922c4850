// Decoders of customers/* payloads (REST shape) and of the GraphQL-shaped customer topics
// (customer.tags_added/removed, customers/purchasing_summary) whose ids are GIDs.
#include "decode_topics.hpp"
#include "shopify/money.hpp"

namespace shopify::detail {

customer_snapshot read_customer_snapshot(object_reader& customer) {
  customer_snapshot snapshot;
  snapshot.customer_id = customer.required_id("id");
  snapshot.email = customer.optional_string("email");
  snapshot.phone = customer.optional_string("phone");
  snapshot.first_name = customer.optional_string("first_name");
  snapshot.last_name = customer.optional_string("last_name");
  snapshot.state = customer.optional_string("state");
  snapshot.created_at_ms = customer.optional_time("created_at");
  snapshot.updated_at_ms = customer.optional_time("updated_at").value_or(0);
  snapshot.tags = customer.optional_tags("tags");
  return snapshot;
}

event decode_customer_upsert(object_reader& root, topic /*t*/) {
  return customer_upsert{read_customer_snapshot(root)};
}

event decode_customer_delete(object_reader& root, topic /*t*/) {
  return customer_delete{root.required_id("id")};
}

// The REST-style keys first, then the GraphQL GID twins; a payload with neither names the
// REST key in its reason.
event decode_customer_merge(object_reader& root, topic /*t*/) {
  auto id_of = [&root](std::string_view rest_key, std::string_view gid_key) {
    const std::string_view key = root.first_present({rest_key, gid_key});
    return root.required_id(key.empty() ? rest_key : key);
  };
  customer_merge merge;
  merge.kept_id = id_of("customer_kept_id", "admin_graphql_api_customer_kept_id");
  merge.deleted_id = id_of("customer_deleted_id", "admin_graphql_api_customer_deleted_id");
  merge.completed = root.string_or_empty("status") == "completed";
  return merge;
}

event decode_tags_change(object_reader& root, topic t) {
  tags_change change;
  const std::string_view id_key = root.first_present({"customerId", "customer_id", "id"});
  change.customer_id = root.required_id(id_key.empty() ? "customerId" : id_key);
  change.added = t == topic::customer_tags_added;
  if (!root.find("tags")) root.fail("tags", "missing");
  change.tags = root.optional_tags("tags").value_or(std::vector<std::string>{});
  const std::string_view time_key = root.first_present({"occurredAt", "occurred_at"});
  change.occurred_at_ms = root.required_time(time_key.empty() ? "occurredAt" : time_key);
  return change;
}

event decode_purchasing_summary(object_reader& root, topic /*t*/) {
  purchasing_summary summary;
  summary.customer_id = root.required_id("customerId");
  summary.number_of_orders = root.required_int("numberOfOrders");
  if (auto amount = root.required_object("amountSpent")) {
    summary.currency = amount->required_string("currencyCode");
    summary.amount_spent_minor =
        amount->required_money("amount", currency_exponent(summary.currency));
  }
  summary.last_order_id = root.optional_id("lastOrderId");
  summary.occurred_at_ms = root.required_time("occurredAt");
  return summary;
}

}  // namespace shopify::detail

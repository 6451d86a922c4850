// One line of a GraphQL bulk-operation result (GraphQL field names, GIDs, MoneyBag money).
#pragma once

#include <optional>

#include "object_reader.hpp"
#include "shopify/events.hpp"

namespace shopify::detail {

enum class bulk_kind { order, customer, other };

struct bulk_line {
  bulk_kind kind = bulk_kind::other;
  event value;  // order_upsert or customer_upsert; meaningless for `other`
  // An order listed under a customer's `orders` connection: that customer (from __parentId).
  std::optional<id_t> parent_customer;
};

// The object's type comes from its `id` GID; lines of other types (line items, transactions,
// ...) are `other`. Failures are recorded in the reader's sink.
bulk_line decode_bulk_line(object_reader& root);

}  // namespace shopify::detail

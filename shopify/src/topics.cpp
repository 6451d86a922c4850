// Topic names <-> enum, as one table in enum order.
#include <array>

#include "shopify/decode.hpp"

namespace shopify {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(topic::unknown) + 1> topic_names{
    "orders/create",
    "orders/updated",
    "orders/paid",
    "orders/cancelled",
    "orders/fulfilled",
    "orders/partially_fulfilled",
    "orders/delete",
    "orders/edited",
    "refunds/create",
    "customers/create",
    "customers/update",
    "customers/enable",
    "customers/disable",
    "customers/delete",
    "customers/merge",
    "customer.tags_added",
    "customer.tags_removed",
    "customers/purchasing_summary",
    "customers/data_request",
    "customers/redact",
    "shop/redact",
    "app/uninstalled",
    "unknown",
};

}  // namespace

topic topic_from_name(std::string_view name) noexcept {
  for (std::size_t i = 0; i + 1 < topic_names.size(); ++i) {
    if (topic_names[i] == name) return static_cast<topic>(i);
  }
  return topic::unknown;
}

std::string_view topic_name(topic t) noexcept {
  const auto index = static_cast<std::size_t>(t);
  return index < topic_names.size() ? topic_names[index] : topic_names.back();
}

}  // namespace shopify

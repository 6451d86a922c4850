// Applies one decoded event to the store: the topic -> store operation table. Runs on the
// writer thread inside the writer's open transaction.
#pragma once

#include <optional>

#include "shopify/events.hpp"
#include "store/writer.hpp"

namespace shopsegd {

// What applying a delivery did, for logs and metrics.
struct apply_result {
  store::outcome outcome = store::outcome::applied;
  bool erased = false;  // a redact ran: the WAL must be checkpointed after the commit
};

// An order_upsert or a customer_upsert as a record of a store import batch (its strings moved
// out of `event`), with the same mapping apply_event uses; nullopt for any other event.
std::optional<store::import_item> import_item_of(shopify::event&& event);

store::result<apply_result> apply_event(store::writer& w, std::string_view shop,
                                        std::string_view webhook_id, std::int64_t received_at_ms,
                                        const shopify::event& event);

}  // namespace shopsegd

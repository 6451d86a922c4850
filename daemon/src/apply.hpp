// Applies one decoded event to the store: the topic -> store operation table. Runs on the
// writer thread inside the writer's open transaction.
#pragma once

#include "shopify/events.hpp"
#include "store/writer.hpp"

namespace shopsegd {

// What applying a delivery did, for logs and metrics.
struct apply_result {
  store::outcome outcome = store::outcome::applied;
  bool erased = false;  // a redact ran: the WAL must be checkpointed after the commit
};

store::result<apply_result> apply_event(store::writer& w, std::string_view shop,
                                        std::string_view webhook_id, std::int64_t received_at_ms,
                                        const shopify::event& event);

}  // namespace shopsegd

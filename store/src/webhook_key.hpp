// How a webhook id is stored in the dedup table. Shopify's X-Shopify-Webhook-Id is a UUID in
// canonical lower-case form (8-4-4-4-12 hex digits); such an id is stored as its 16 bytes, a
// BLOB, instead of 36 characters of TEXT. Any other id is stored as its text. SQLite never
// compares a BLOB equal to a TEXT and only the canonical lower-case spelling becomes a BLOB, so
// the mapping is one-to-one: two ids are the same key exactly when they are the same string.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "sqlite.hpp"

namespace store::detail {

using uuid_bytes = std::array<unsigned char, 16>;

// The 16 bytes of a canonical lower-case UUID, nullopt for any other text.
std::optional<uuid_bytes> canonical_uuid(std::string_view id) noexcept;

// Binds the stored form of `webhook_id` (copied, so the id need not outlive the query).
void bind_webhook_key(query& q, int index, std::string_view webhook_id) noexcept;

// Registers shopseg_webhook_key(text) (the stored form, for the migration) on `db`.
result<void> register_webhook_key_function(connection& db);

}  // namespace store::detail

// The stored form of webhook ids (see webhook_key.hpp).
#include "webhook_key.hpp"

namespace store::detail {
namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is not canonical: it stays text
}

void webhook_key_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) != SQLITE_TEXT) return sqlite3_result_value(ctx, argv[0]);
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const std::string_view id(text, static_cast<std::size_t>(sqlite3_value_bytes(argv[0])));
  if (const auto bytes = canonical_uuid(id)) return sqlite3_result_blob64(ctx, bytes->data(), bytes->size(), SQLITE_TRANSIENT);
  sqlite3_result_value(ctx, argv[0]);
}

}  // namespace

std::optional<uuid_bytes> canonical_uuid(std::string_view id) noexcept {
  if (id.size() != 36) return std::nullopt;
  uuid_bytes out{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < id.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (id[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(id[i]), lo = hex_value(id[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[n++] = static_cast<unsigned char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

void bind_webhook_key(query& q, int index, std::string_view webhook_id) noexcept {
  if (const auto bytes = canonical_uuid(webhook_id)) q.bind_blob_copy(index, bytes->data(), bytes->size());
  else q.bind_text(index, webhook_id);
}

result<void> register_webhook_key_function(connection& db) {
  const int rc = sqlite3_create_function_v2(db.handle(), "shopseg_webhook_key", 1,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                            webhook_key_function, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  return {};
}

}  // namespace store::detail

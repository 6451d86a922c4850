// The opaque cursor of paginated members: a customer key (shop, id) in URL-safe base64 without
// padding, so that it can be pasted into a query string as it is. Pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "store/records.hpp"

namespace shopsegd {

std::string encode_cursor(const store::customer_key& key);
// nullopt for anything encode_cursor could not have written.
std::optional<store::customer_key> decode_cursor(std::string_view cursor);

}  // namespace shopsegd

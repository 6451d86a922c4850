// Phone numbers as lookup keys. Shopify sends E.164 ("+16135550142"), people type
// "+1 (613) 555-0142": both become the same key, so a lookup matches whatever the punctuation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace store {

// The digits of `phone`, after a '+' when its first non-blank character is one. nullopt when
// it holds no digit.
std::optional<std::string> phone_key(std::string_view phone);

}  // namespace store

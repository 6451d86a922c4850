// Phone lookup keys (see store/phone.hpp).
#include "store/phone.hpp"

namespace store {

std::optional<std::string> phone_key(std::string_view phone) {
  std::string key;
  bool leading = true;
  for (char c : phone) {
    if (c >= '0' && c <= '9') {
      key += c;
      leading = false;
    } else if (leading && c == '+') {
      key += c;
      leading = false;
    } else if (leading && c != ' ' && c != '\t') {
      leading = false;
    }
  }
  if (key.empty() || key == "+") return std::nullopt;
  return key;
}

}  // namespace store

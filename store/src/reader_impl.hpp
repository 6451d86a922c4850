// The reader's state, shared by reader*.cpp.
#pragma once

#include <memory>

#include "sqlite.hpp"
#include "store/reader.hpp"

namespace store {

struct reader::impl {
  std::unique_ptr<detail::connection> db;

  result<id_t> resolve_alias(std::string_view shop, id_t customer_id) {
    auto s = db->prepare("SELECT kept_id FROM customer_aliases WHERE shop = ?1 AND deleted_id = ?2");
    if (!s) return s.error();
    detail::query q(*s);
    q.bind_text(1, shop).bind_id(2, customer_id);
    auto row = q.step();
    if (!row) return row.error();
    return *row ? q.id_at(0) : customer_id;
  }
};

}  // namespace store

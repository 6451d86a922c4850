// The reader's state, shared by reader*.cpp.
#pragma once

#include <memory>

#include "customer_reads.hpp"
#include "sqlite.hpp"
#include "store/reader.hpp"

namespace store {

struct reader::impl {
  std::unique_ptr<detail::connection> db;

  result<id_t> resolve_alias(std::string_view shop, id_t customer_id) {
    return detail::read_kept_id(*db, shop, customer_id);
  }
};

}  // namespace store

// amount_spent_percentile's order statistics: per shop, the lifetime spend of every customer
// with at least one counting order, in an order-statistics tree, so that "how many buyers spent
// less than x" is O(log n) and the customers between two spends can be listed. Rebuilt from
// the store at start; owned by the writer thread (not thread-safe).
#pragma once

#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "rules/facts.hpp"
#include "store/records.hpp"

namespace shopsegd {

class spend_ranks {
 public:
  // Sets (or, with nullopt, removes) a customer's spend. True when it moved.
  bool set(const std::string& shop, store::id_t customer, std::optional<std::int64_t> amount_minor);
  // less / buyers for a customer spending `amount_minor` (nullopt when the shop has no buyers).
  std::optional<rules::percentile_fact> percentile(const std::string& shop, std::int64_t amount_minor) const;

  // The spend above which `amount_spent_percentile (>=|>) threshold` holds: members are the
  // buyers whose spend exceeds the returned value (nullopt: every buyer is a member; INT64_MAX:
  // none is). `strict` is for `>` / `<=`, which flip at a different rank than `>=` / `<`.
  std::optional<std::int64_t> boundary(const std::string& shop, const rules::decimal& threshold, bool strict) const;
  // Customers of the shop whose spend lies in [low, high].
  std::vector<store::id_t> between(const std::string& shop, std::int64_t low, std::int64_t high) const;
  std::size_t buyers(const std::string& shop) const;
  // The customer's spend as set (nullopt: not a buyer).
  std::optional<std::int64_t> spend_of(const std::string& shop, store::id_t customer) const;

 private:
  using key = std::pair<std::int64_t, store::id_t>;  // (spend, customer) keeps ties apart
  using tree = __gnu_pbds::tree<key, __gnu_pbds::null_type, std::less<key>, __gnu_pbds::rb_tree_tag,
                                __gnu_pbds::tree_order_statistics_node_update>;
  struct shop_ranks {
    tree spends;
    std::unordered_map<store::id_t, std::int64_t> by_customer;
  };
  std::map<std::string, shop_ranks, std::less<>> shops_;
};

}  // namespace shopsegd

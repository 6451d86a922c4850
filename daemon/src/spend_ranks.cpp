// Rank arithmetic. A buyer with spend a has less(a) = the number of spends below a, and
// `percentile >= p` is 100 × less ÷ n >= p, i.e. less >= ceil(p n / 100) =: r. Since less is
// monotone in the spend, the members are exactly the buyers whose spend exceeds the spend of
// rank r - 1 (0-based, ascending): that spend is the boundary. For `> p` the rank is
// floor(p n / 100) + 1.
#include "spend_ranks.hpp"

#include <limits>

namespace shopsegd {

bool spend_ranks::set(const std::string& shop, store::id_t customer, std::optional<std::int64_t> amount) {
  auto& s = shops_[shop];
  auto it = s.by_customer.find(customer);
  if (it != s.by_customer.end()) {
    if (amount && it->second == *amount) return false;
    s.spends.erase(key{it->second, customer});
    if (!amount) {
      s.by_customer.erase(it);
      return true;
    }
    it->second = *amount;
  } else {
    if (!amount) return false;
    s.by_customer.emplace(customer, *amount);
  }
  s.spends.insert(key{*amount, customer});
  return true;
}

std::optional<rules::percentile_fact> spend_ranks::percentile(const std::string& shop, std::int64_t amount) const {
  auto it = shops_.find(shop);
  if (it == shops_.end() || it->second.spends.empty()) return std::nullopt;
  const auto less = it->second.spends.order_of_key(key{amount, 0});
  return rules::percentile_fact{static_cast<std::int64_t>(less), static_cast<std::int64_t>(it->second.spends.size())};
}

std::optional<std::int64_t> spend_ranks::boundary(const std::string& shop, const rules::decimal& threshold,
                                                  bool strict) const {
  auto it = shops_.find(shop);
  const std::size_t n = it == shops_.end() ? 0 : it->second.spends.size();
  if (n == 0) return std::numeric_limits<std::int64_t>::max();
  __extension__ typedef __int128 wide;
  wide scale = 100;
  for (int i = 0; i < threshold.scale; ++i) scale *= 10;
  const wide product = wide(threshold.mantissa) * wide(n);  // p n / 100 = product / scale
  wide rank;
  if (strict) {
    rank = (product >= 0 ? product / scale : -((-product + scale - 1) / scale)) + 1;  // floor + 1
  } else {
    rank = product >= 0 ? (product + scale - 1) / scale : -((-product) / scale);  // ceil
  }
  if (rank <= 0) return std::nullopt;
  if (rank >= static_cast<wide>(n)) return std::numeric_limits<std::int64_t>::max();
  return it->second.spends.find_by_order(static_cast<std::size_t>(rank - 1))->first;
}

std::vector<store::id_t> spend_ranks::between(const std::string& shop, std::int64_t low, std::int64_t high) const {
  std::vector<store::id_t> out;
  auto it = shops_.find(shop);
  if (it == shops_.end() || low > high) return out;
  for (auto k = it->second.spends.lower_bound(key{low, 0}); k != it->second.spends.end() && k->first <= high; ++k)
    out.push_back(k->second);
  return out;
}

std::size_t spend_ranks::buyers(const std::string& shop) const {
  auto it = shops_.find(shop);
  return it == shops_.end() ? 0 : it->second.spends.size();
}

std::optional<std::int64_t> spend_ranks::spend_of(const std::string& shop, store::id_t customer) const {
  auto it = shops_.find(shop);
  if (it == shops_.end()) return std::nullopt;
  auto c = it->second.by_customer.find(customer);
  if (c == it->second.by_customer.end()) return std::nullopt;
  return c->second;
}

}  // namespace shopsegd

// Attribute and construct tables.
#include "attributes.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace rules::detail {
namespace {

struct attribute_row {
  std::string_view name;
  attribute attr;
  value_type type;
};

constexpr std::array<attribute_row, 11> attributes = {{
    {"amount_spent", attribute::amount_spent, value_type::money},
    {"number_of_orders", attribute::number_of_orders, value_type::number},
    {"first_order_date", attribute::first_order_date, value_type::date},
    {"last_order_date", attribute::last_order_date, value_type::date},
    {"customer_added_date", attribute::customer_added_date, value_type::date},
    {"customer_tags", attribute::customer_tags, value_type::list},
    {"customer_email_domain", attribute::customer_email_domain, value_type::text},
    {"customer_account_status", attribute::customer_account_status, value_type::text},
    {"amount_spent_percentile", attribute::amount_spent_percentile, value_type::number},
    {"largest_order_amount", attribute::largest_order_amount, value_type::money},
    {"amount", attribute::order_amount, value_type::money},
}};

// Shopify segment attributes and functions outside shopseg's subset (SPEC §3): refused by name.
constexpr std::array<std::string_view, 30> shopify_only = {
    "products_purchased", "shopify_email", "rfm_group", "predicted_spend_tier",
    "customer_cities", "customer_countries", "customer_regions", "customer_language",
    "email_subscription_status", "sms_subscription_status", "companies", "anniversary",
    "abandoned_checkout_date", "storefront", "store_credit_accounts", "customer_within_distance",
    "created_by_app_id", "product_subscription_status", "customer_email_subscription_status",
    "customer_sms_subscription_status", "orders_placed_count", "returns", "customer_id",
    "customer_phone_number", "metafields", "customer_country", "purchase_channel",
    "customer_email", "shopify_forms", "marketing_consent"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Levenshtein distance, for "did you mean".
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<attribute> find_attribute(std::string_view name) {
  for (const auto& row : attributes)
    if (row.name == name) return row.attr;
  return std::nullopt;
}

std::string_view attribute_name(attribute a) {
  for (const auto& row : attributes)
    if (row.attr == a) return row.name;
  return "?";
}

value_type type_of(attribute a) {
  for (const auto& row : attributes)
    if (row.attr == a) return row.type;
  return value_type::number;
}

std::optional<std::string> unsupported(std::string_view name) {
  const std::string_view base = name.substr(0, name.find('.'));
  for (auto known : shopify_only) {
    if (base == known)
      return "'" + std::string(name) +
             "' is part of Shopify's segment language but is not supported by shopseg (see rules/grammar.md for what is)";
  }
  return std::nullopt;
}

std::string suggestion(std::string_view name) {
  std::string_view best;
  std::size_t best_distance = 4;
  for (const auto& row : attributes) {
    std::size_t d = distance(name, row.name);
    if (d < best_distance) best_distance = d, best = row.name;
  }
  if (distance(name, "orders_placed") < best_distance) best = "orders_placed";
  return best.empty() ? "" : " (did you mean '" + std::string(best) + "'?)";
}

std::string normalize_text(std::string_view attr_name, std::string_view text) {
  std::string out = lower(text);
  if (attr_name == "customer_account_status")
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::optional<std::string> check_enum(std::string_view attr_name, const std::string& normalized) {
  if (attr_name != "customer_account_status") return std::nullopt;
  for (std::string_view state : {"ENABLED", "DISABLED", "INVITED", "DECLINED"})
    if (normalized == state) return std::nullopt;
  return "customer_account_status is one of 'ENABLED', 'DISABLED', 'INVITED', 'DECLINED', not '" + normalized + "'";
}

std::optional<date_operand> parse_offset(std::string_view text) {
  date_operand d;
  int amount = 0;
  char unit = 0;
  if (text.size() >= 3 && text.front() == '-') {
    auto [end, ec] = std::from_chars(text.data() + 1, text.data() + text.size() - 1, amount);
    if (ec != std::errc{} || end != text.data() + text.size() - 1) return std::nullopt;
    unit = text.back();
  } else {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), amount);
    if (ec != std::errc{}) return std::nullopt;
    const std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
    static const std::pair<std::string_view, char> forms[] = {
        {"_days_ago", 'd'}, {"_day_ago", 'd'}, {"_weeks_ago", 'w'}, {"_week_ago", 'w'},
        {"_months_ago", 'm'}, {"_month_ago", 'm'}, {"_years_ago", 'y'}, {"_year_ago", 'y'}};
    for (const auto& [form, u] : forms)
      if (suffix == form) unit = u;
  }
  if (amount < 0 || amount > 100'000) return std::nullopt;
  switch (unit) {
    case 'd': d.k = date_operand::kind::days_ago; d.amount = amount; break;
    case 'w': d.k = date_operand::kind::days_ago; d.amount = amount * 7; break;
    case 'm': d.k = date_operand::kind::months_ago; d.amount = amount; break;
    case 'y': d.k = date_operand::kind::months_ago; d.amount = amount * 12; break;
    default: return std::nullopt;
  }
  return d;
}

}  // namespace rules::detail

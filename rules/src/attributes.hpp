// The attribute table: names, types, the Shopify names shopseg recognises but does not
// evaluate, enum values, and date offsets. One table, so the parser, the evaluator and
// grammar.md agree.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rules/query.hpp"

namespace rules::detail {

enum class value_type { money, number, date, text, list };

std::optional<attribute> find_attribute(std::string_view name);
std::string_view attribute_name(attribute a);
value_type type_of(attribute a);

// Why a Shopify construct outside the subset is refused; nullopt for names we do not know as
// Shopify's (those get "unknown attribute").
std::optional<std::string> unsupported(std::string_view name);
// " (did you mean 'x'?)" for a near miss, else "".
std::string suggestion(std::string_view name);

// Tags and email domains compare lower-cased, account states upper-cased.
std::string normalize_text(std::string_view attr_name, std::string_view text);
// An error for an account state that does not exist.
std::optional<std::string> check_enum(std::string_view attr_name, const std::string& normalized);

// -90d, -2w, -12m, -1y, and 90_days_ago / 2_weeks_ago / 12_months_ago / 1_years_ago.
std::optional<date_operand> parse_offset(std::string_view text);

}  // namespace rules::detail

// Tokens of the segment query language, each with its position and text. Keywords are matched
// case-insensitively; `--` starts a comment to the end of the line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "rules/query.hpp"

namespace rules::detail {

enum class token_kind {
  identifier,  // attribute names, keywords, enum values (dots allowed: shopify_email.opened)
  number,      // 10, 10000.50, -3
  date,        // 2026-01-31
  offset,      // -90d -2w -12m -1y, and the deprecated 90_days_ago forms
  string,      // 'text' or "text"
  op,          // = != < <= > >=
  lparen,
  rparen,
  comma,
  end,
  invalid,
};

struct token {
  token_kind kind = token_kind::end;
  std::string text;  // as written (strings: the content without quotes, escapes resolved)
  position at;
};

// Tokenizes `text` whose first character is at `start`. An unterminated string or a character
// outside the language becomes an `invalid` token (the parser reports it).
std::vector<token> tokenize(std::string_view text, position start);

// Case-insensitive comparison with an upper-case keyword.
bool is_keyword(const token& t, std::string_view upper);

}  // namespace rules::detail

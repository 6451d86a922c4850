// The lexer. Positions count lines and columns in the file, so a query inside a multi-line
// TOML string reports the line and column an editor shows.
#include "lexer.hpp"

#include <cctype>

namespace rules::detail {
namespace {

bool ident_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool ident_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
}
bool digit(char c) { return c >= '0' && c <= '9'; }

class cursor {
 public:
  cursor(std::string_view text, position start) : text_(text), at_(start) {}
  bool done() const { return i_ >= text_.size(); }
  char peek(std::size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }
  position at() const { return at_; }
  char next() {
    char c = text_[i_++];
    if (c == '\n') {
      ++at_.line;
      at_.column = 1;
    } else {
      ++at_.column;
    }
    return c;
  }
  std::string take_while(bool (*pred)(char)) {
    std::string out;
    while (!done() && pred(peek())) out += next();
    return out;
  }

 private:
  std::string_view text_;
  std::size_t i_ = 0;
  position at_;
};

// digits, then "-dd-dd" (a date), or a fraction, or "_days_ago" style suffixes.
token number_like(cursor& c, position at, bool negative) {
  token t{token_kind::number, negative ? "-" : "", at};
  t.text += c.take_while(digit);
  if (!negative && t.text.size() == 4 && c.peek() == '-' && digit(c.peek(1))) {
    t.kind = token_kind::date;
    while (!c.done() && (digit(c.peek()) || c.peek() == '-')) t.text += c.next();
    return t;
  }
  if (c.peek() == '.' && digit(c.peek(1))) {
    t.text += c.next();
    t.text += c.take_while(digit);
    return t;
  }
  if (negative && (c.peek() == 'd' || c.peek() == 'w' || c.peek() == 'm' || c.peek() == 'y') &&
      !ident_char(c.peek(1))) {
    t.kind = token_kind::offset;
    t.text += c.next();
    return t;
  }
  if (!negative && c.peek() == '_') {
    t.text += c.take_while(ident_char);
    t.kind = token_kind::offset;  // the parser checks the N_days_ago shape
  }
  return t;
}

token string_literal(cursor& c, position at) {
  const char quote = c.next();
  token t{token_kind::string, "", at};
  while (!c.done() && c.peek() != quote && c.peek() != '\n') {
    char ch = c.next();
    if (ch == '\\' && !c.done()) ch = c.next();
    t.text += ch;
  }
  if (c.peek() != quote) return token{token_kind::invalid, "unterminated string", at};
  c.next();
  return t;
}

token operator_token(cursor& c, position at) {
  std::string text(1, c.next());
  if ((text == "!" || text == "<" || text == ">") && c.peek() == '=') text += c.next();
  if (text == "!") return token{token_kind::invalid, "!", at};
  return token{token_kind::op, text, at};
}

}  // namespace

std::vector<token> tokenize(std::string_view text, position start) {
  std::vector<token> out;
  cursor c(text, start);
  while (!c.done()) {
    const char ch = c.peek();
    const position at = c.at();
    if (std::isspace(static_cast<unsigned char>(ch))) {
      c.next();
    } else if (ch == '-' && c.peek(1) == '-') {
      while (!c.done() && c.peek() != '\n') c.next();
    } else if (ident_start(ch)) {
      out.push_back(token{token_kind::identifier, c.take_while(ident_char), at});
    } else if (digit(ch)) {
      out.push_back(number_like(c, at, false));
    } else if (ch == '-' && digit(c.peek(1))) {
      c.next();
      out.push_back(number_like(c, at, true));
    } else if (ch == '\'' || ch == '"') {
      out.push_back(string_literal(c, at));
    } else if (ch == '=' || ch == '!' || ch == '<' || ch == '>') {
      out.push_back(operator_token(c, at));
    } else if (ch == '(' || ch == ')' || ch == ',') {
      c.next();
      out.push_back(token{ch == '(' ? token_kind::lparen : ch == ')' ? token_kind::rparen : token_kind::comma,
                          std::string(1, ch), at});
    } else {
      c.next();
      out.push_back(token{token_kind::invalid, std::string(1, ch), at});
    }
  }
  out.push_back(token{token_kind::end, "", c.at()});
  return out;
}

bool is_keyword(const token& t, std::string_view upper) {
  if (t.kind != token_kind::identifier || t.text.size() != upper.size()) return false;
  for (std::size_t i = 0; i < upper.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(t.text[i])) != upper[i]) return false;
  return true;
}

}  // namespace rules::detail

// Recursive descent over the token list, one function per grammar rule of grammar.md:
//   query := or ; or := and {OR and} ; and := unary {AND unary} ; unary := NOT unary | primary
//   primary := '(' or ')' | orders_placed [NOT] MATCHES '(' param {',' param} ')' | condition
// Errors are collected as "file:line:col: message"; after the first error in a query the
// parser stops (later errors would mostly be echoes of the first).
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "attributes.hpp"
#include "lexer.hpp"
#include "rules/evaluate.hpp"

namespace rules {
namespace {

using detail::token;
using detail::token_kind;

struct parse_failure {
  position at;
  std::string message;
};

class parser {
 public:
  parser(std::vector<token> tokens, std::string_view text, position start, subject about)
      : tokens_(std::move(tokens)), text_(text), start_(start), about_(about) {}

  std::unique_ptr<expression> parse_query() {
    if (peek().kind == token_kind::end) fail(peek(), "the query is empty");
    auto root = parse_or();
    if (peek().kind != token_kind::end) fail(peek(), "expected AND, OR or the end of the query, found " + describe(peek()));
    return root;
  }

 private:
  const token& peek(std::size_t ahead = 0) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  const token& next() { return tokens_[std::min(pos_++, tokens_.size() - 1)]; }
  bool accept_keyword(std::string_view kw) {
    if (!detail::is_keyword(peek(), kw)) return false;
    ++pos_;
    return true;
  }
  [[noreturn]] void fail(const token& t, std::string message) { throw parse_failure{t.at, std::move(message)}; }
  static std::string describe(const token& t) {
    switch (t.kind) {
      case token_kind::end: return "the end of the query";
      case token_kind::string: return "'" + t.text + "'";
      case token_kind::invalid: return t.text == "unterminated string" ? "an unterminated string" : "'" + t.text + "'";
      default: return "'" + t.text + "'";
    }
  }

  static std::unique_ptr<expression> combine(expression::kind k, std::vector<std::unique_ptr<expression>> parts) {
    if (parts.size() == 1) return std::move(parts.front());
    auto e = std::make_unique<expression>();
    e->k = k;
    e->children = std::move(parts);
    return e;
  }

  std::unique_ptr<expression> parse_or() {
    std::vector<std::unique_ptr<expression>> parts;
    parts.push_back(parse_and());
    while (accept_keyword("OR")) parts.push_back(parse_and());
    return combine(expression::kind::any_of, std::move(parts));
  }

  std::unique_ptr<expression> parse_and() {
    std::vector<std::unique_ptr<expression>> parts;
    parts.push_back(parse_unary());
    while (accept_keyword("AND")) parts.push_back(parse_unary());
    return combine(expression::kind::all_of, std::move(parts));
  }

  std::unique_ptr<expression> parse_unary() {
    if (detail::is_keyword(peek(), "NOT") && !detail::is_keyword(peek(1), "CONTAINS")) {
      next();
      auto e = std::make_unique<expression>();
      e->k = expression::kind::negation;
      e->children.push_back(parse_unary());
      return e;
    }
    return parse_primary();
  }

  std::unique_ptr<expression> parse_primary() {
    if (peek().kind == token_kind::lparen) {
      const token& open = next();
      auto inner = parse_or();
      if (peek().kind != token_kind::rparen) fail(open, "this parenthesis is never closed (found " + describe(peek()) + ")");
      next();
      return inner;
    }
    auto e = std::make_unique<expression>();
    const std::size_t first = pos_;
    e->leaf = parse_condition();
    e->leaf.at = tokens_[first].at;
    e->leaf.text = source_text(first, pos_);
    return e;
  }

  // The query text from token `first` up to (not including) token `last`.
  std::string source_text(std::size_t first, std::size_t last) const {
    auto offset = [&](position p) {
      std::size_t i = 0;
      position at = start_;
      while (i < text_.size() && (at.line < p.line || (at.line == p.line && at.column < p.column))) {
        if (text_[i++] == '\n') { ++at.line; at.column = 1; } else { ++at.column; }
      }
      return i;
    };
    const std::size_t from = offset(tokens_[first].at);
    const std::size_t to = offset(tokens_[last].at);
    // Comments dropped and whitespace runs (line breaks included) made single spaces.
    std::string s;
    char quote = 0;
    const std::string_view raw = text_.substr(from, to - from);
    for (std::size_t i = 0; i < raw.size(); ++i) {
      const char ch = raw[i];
      if (!quote && ch == '-' && i + 1 < raw.size() && raw[i + 1] == '-') {
        while (i < raw.size() && raw[i] != '\n') ++i;
        if (!s.empty() && s.back() != ' ') s += ' ';
        continue;
      }
      if (quote && ch == quote) quote = 0;
      else if (!quote && (ch == '\'' || ch == '"')) quote = ch;
      if (!quote && (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r')) {
        if (!s.empty() && s.back() != ' ') s += ' ';
        continue;
      }
      s += ch;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  }

  condition parse_condition() {
    const token& name = peek();
    if (name.kind != token_kind::identifier) fail(name, "expected an attribute name, found " + describe(name));
    if (auto why = detail::unsupported(name.text)) fail(name, *why);
    if (about_ == subject::order && name.text != "amount")
      fail(name, "an order flag tests the order's net amount only: use 'amount', not '" + name.text + "'");
    if (name.text == "orders_placed") return parse_orders_placed();
    auto attr = detail::find_attribute(name.text);
    if (!attr) fail(name, "unknown attribute '" + name.text + "'" + detail::suggestion(name.text));
    if (*attr == attribute::order_amount && about_ == subject::customer)
      fail(name, "'amount' is an order's amount (order flags); for customers use amount_spent, largest_order_amount or orders_placed MATCHES (amount ...)");
    next();
    condition c;
    c.attr = *attr;
    const detail::value_type type = detail::type_of(*attr);
    if (accept_keyword("IS")) {
      const bool negated = accept_keyword("NOT");
      if (!accept_keyword("NULL")) fail(peek(), "expected NULL after IS" + std::string(negated ? " NOT" : "") + ", found " + describe(peek()));
      c.f = negated ? condition::form::is_not_null : condition::form::is_null;
      return c;
    }
    if (type == detail::value_type::list) {
      const bool negated = accept_keyword("NOT");
      if (!accept_keyword("CONTAINS"))
        fail(peek(), "'" + name.text + "' is a list: use CONTAINS or NOT CONTAINS, found " + describe(peek()));
      c.f = negated ? condition::form::not_contains : condition::form::contains;
      c.low = parse_operand(type, name.text);
      return c;
    }
    if (detail::is_keyword(peek(), "CONTAINS") || (detail::is_keyword(peek(), "NOT") && detail::is_keyword(peek(1), "CONTAINS")))
      fail(peek(), "CONTAINS applies to lists such as customer_tags, not to '" + name.text + "'");
    if (accept_keyword("BETWEEN")) {
      if (type == detail::value_type::text) fail(tokens_[pos_ - 1], "BETWEEN needs a number or a date, not '" + name.text + "'");
      c.f = condition::form::between;
      c.low = parse_operand(type, name.text);
      if (!accept_keyword("AND")) fail(peek(), "expected AND between the bounds of BETWEEN, found " + describe(peek()));
      c.high = parse_operand(type, name.text);
      return c;
    }
    c.f = condition::form::compare;
    c.op = parse_comparison();
    if (type == detail::value_type::text && c.op != comparison::eq && c.op != comparison::ne)
      fail(tokens_[pos_ - 1], "'" + name.text + "' can only be compared with = or !=");
    c.low = parse_operand(type, name.text);
    return c;
  }

  comparison parse_comparison() {
    const token& t = peek();
    if (t.kind != token_kind::op) fail(t, "expected a comparison (= != < <= > >=), BETWEEN or IS, found " + describe(t));
    next();
    static const std::pair<std::string_view, comparison> table[] = {
        {"=", comparison::eq}, {"!=", comparison::ne}, {"<", comparison::lt},
        {"<=", comparison::le}, {">", comparison::gt}, {">=", comparison::ge}};
    for (const auto& [text, op] : table)
      if (t.text == text) return op;
    fail(t, "unknown operator '" + t.text + "'");
  }

  condition parse_orders_placed() {
    next();  // orders_placed
    condition c;
    c.f = accept_keyword("NOT") ? condition::form::not_matches : condition::form::matches;
    if (!accept_keyword("MATCHES")) fail(peek(), "expected MATCHES (...) after orders_placed, found " + describe(peek()));
    if (peek().kind != token_kind::lparen) fail(peek(), "expected '(' after MATCHES, found " + describe(peek()));
    next();
    do {
      c.params.push_back(parse_order_parameter());
    } while (peek().kind == token_kind::comma && (next(), true));
    if (peek().kind != token_kind::rparen) fail(peek(), "expected ',' or ')' in MATCHES (...), found " + describe(peek()));
    next();
    return c;
  }

  order_parameter parse_order_parameter() {
    const token& name = peek();
    static const std::pair<std::string_view, order_parameter::name> names[] = {
        {"count", order_parameter::name::count}, {"sum_amount", order_parameter::name::sum_amount},
        {"amount", order_parameter::name::amount}, {"date", order_parameter::name::date}};
    order_parameter p;
    bool found = false;
    for (const auto& [text, n] : names)
      if (name.kind == token_kind::identifier && name.text == text) { p.n = n; found = true; }
    if (!found)
      fail(name, "orders_placed takes count, sum_amount, amount and date, not " + describe(name));
    next();
    const auto type = p.n == order_parameter::name::date ? detail::value_type::date
                      : p.n == order_parameter::name::count ? detail::value_type::number
                                                            : detail::value_type::money;
    if (accept_keyword("BETWEEN")) {
      p.between = true;
      p.low = parse_operand(type, name.text);
      if (!accept_keyword("AND")) fail(peek(), "expected AND between the bounds of BETWEEN, found " + describe(peek()));
      p.high = parse_operand(type, name.text);
      return p;
    }
    p.op = parse_comparison();
    p.low = parse_operand(type, name.text);
    return p;
  }

  operand parse_operand(detail::value_type type, const std::string& attr_name) {
    const token& t = peek();
    operand o;
    switch (type) {
      case detail::value_type::money:
      case detail::value_type::number:
        if (t.kind != token_kind::number) fail(t, "'" + attr_name + "' needs a number, found " + describe(t));
        o.number = parse_decimal(t);
        break;
      case detail::value_type::date:
        o.date = parse_date(t, attr_name);
        break;
      case detail::value_type::text:
      case detail::value_type::list:
        if (t.kind != token_kind::string && t.kind != token_kind::identifier)
          fail(t, "'" + attr_name + "' needs a quoted string, found " + describe(t));
        o.text = detail::normalize_text(attr_name, t.text);
        if (auto why = detail::check_enum(attr_name, o.text)) fail(t, *why);
        break;
    }
    next();
    return o;
  }

  decimal parse_decimal(const token& t) {
    decimal d;
    std::string digits = t.text;
    if (auto dot = digits.find('.'); dot != std::string::npos) {
      d.scale = static_cast<int>(digits.size() - dot - 1);
      digits.erase(dot, 1);
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), d.mantissa);
    if (ec != std::errc{} || end != digits.data() + digits.size() || d.scale > 9)
      fail(t, "the number '" + t.text + "' is out of range");
    return d;
  }

  date_operand parse_date(const token& t, const std::string& attr_name) {
    date_operand d;
    if (t.kind == token_kind::date) {
      int y = 0;
      unsigned m = 0, dd = 0;
      if (std::sscanf(t.text.c_str(), "%4d-%2u-%2u", &y, &m, &dd) != 3 || t.text.size() != 10 || m < 1 ||
          m > 12 || dd < 1 || dd > 31 || format_day(day_from_civil(y, m, dd)) != t.text)
        fail(t, "'" + t.text + "' is not a calendar date (YYYY-MM-DD)");
      d.absolute = day_from_civil(y, m, dd);
      return d;
    }
    if (detail::is_keyword(t, "TODAY") || detail::is_keyword(t, "YESTERDAY")) {
      d.k = date_operand::kind::days_ago;
      d.amount = detail::is_keyword(t, "TODAY") ? 0 : 1;
      return d;
    }
    if (t.kind == token_kind::offset) {
      if (auto parsed = detail::parse_offset(t.text)) return *parsed;
      fail(t, "'" + t.text + "' is not a date offset (-90d, -2w, -12m, -1y or 90_days_ago)");
    }
    fail(t, "'" + attr_name + "' needs a date (2026-01-31, today, yesterday, -90d, -2w, -12m, -1y), found " + describe(t));
  }

  std::vector<token> tokens_;
  std::string_view text_;
  position start_;
  subject about_;
  std::size_t pos_ = 0;
};

void collect_thresholds(const expression& e, std::vector<decimal>& out) {
  if (e.k != expression::kind::leaf) {
    for (const auto& child : e.children) collect_thresholds(*child, out);
    return;
  }
  const condition& c = e.leaf;
  if (c.attr != attribute::amount_spent_percentile) return;
  if (c.f != condition::form::compare && c.f != condition::form::between) return;
  auto add = [&](decimal d) {
    for (const auto& seen : out)
      if (seen.mantissa == d.mantissa && seen.scale == d.scale) return;
    out.push_back(d);
  };
  add(c.low.number);
  if (c.f == condition::form::between) add(c.high.number);
}

}  // namespace

boost::system::result<query, parse_errors> parse(std::string_view text, const source_location& where,
                                                 subject about) {
  auto tokens = detail::tokenize(text, where.start);
  auto report = [&](position at, const std::string& what) {
    return parse_errors{{where.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) + ": " + what}};
  };
  // A Shopify construct outside the subset is named even when its syntax (products_purchased(tag:
  // 'x')) is not ours to tokenize.
  for (const auto& t : tokens) {
    if (t.kind == token_kind::identifier) {
      if (auto why = detail::unsupported(t.text)) return report(t.at, *why);
    }
    if (t.kind == token_kind::invalid) {
      const std::string what = t.text == "unterminated string" ? "unterminated string" : "unexpected character '" + t.text + "'";
      return parse_errors{{where.file + ":" + std::to_string(t.at.line) + ":" + std::to_string(t.at.column) + ": " + what}};
    }
  }
  try {
    parser p(std::move(tokens), text, where.start, about);
    query q;
    q.root = p.parse_query();
    q.source = std::string(text);
    return q;
  } catch (const parse_failure& f) {
    return parse_errors{{where.file + ":" + std::to_string(f.at.line) + ":" + std::to_string(f.at.column) + ": " + f.message}};
  }
}

std::vector<decimal> percentile_thresholds(const query& q) {
  std::vector<decimal> out;
  if (q.root) collect_thresholds(*q.root, out);
  return out;
}

void throw_exception_from_error(const parse_errors& e, const boost::source_location&) {
  throw std::runtime_error(e.messages.empty() ? "parse error" : e.messages.front());
}

}  // namespace rules

// Evaluation, explanation and next-change days. Money and percentiles compare exactly: both
// sides are scaled to a common exponent in 128-bit integers, never through a double.
#include "rules/evaluate.hpp"

#include <algorithm>
#include <cstdio>

#include "attributes.hpp"

namespace rules {

day day_from_civil(int y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int>(doe) - 719468;
}

namespace {

struct civil {
  int year;
  unsigned month, day;
};

civil civil_from_day(day z) {
  z += 719468;
  const int era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int y = static_cast<int>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

unsigned days_in_month(int y, unsigned m) {
  static constexpr unsigned lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : lengths[m - 1];
}

}  // namespace

day months_before(day d, int months) {
  civil c = civil_from_day(d);
  int index = c.year * 12 + static_cast<int>(c.month) - 1 - months;
  const int year = index >= 0 ? index / 12 : (index - 11) / 12;
  const unsigned month = static_cast<unsigned>(index - year * 12) + 1;
  return day_from_civil(year, month, std::min(c.day, days_in_month(year, month)));
}

std::string format_day(day d) {
  civil c = civil_from_day(d);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

namespace {

__extension__ typedef __int128 wide;  // GCC and clang; silences -Wpedantic

wide pow10(int n) {
  wide v = 1;
  while (n-- > 0) v *= 10;
  return v;
}

// -1, 0, 1 comparing a / 10^a_scale with b / 10^b_scale.
int compare_scaled(wide a, int a_scale, wide b, int b_scale) {
  const int scale = std::max(a_scale, b_scale);
  const wide x = a * pow10(scale - a_scale), y = b * pow10(scale - b_scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

bool holds(comparison op, int cmp) {
  switch (op) {
    case comparison::eq: return cmp == 0;
    case comparison::ne: return cmp != 0;
    case comparison::lt: return cmp < 0;
    case comparison::le: return cmp <= 0;
    case comparison::gt: return cmp > 0;
    case comparison::ge: return cmp >= 0;
  }
  return false;
}

day resolve(const date_operand& d, day today) {
  switch (d.k) {
    case date_operand::kind::absolute: return d.absolute;
    case date_operand::kind::days_ago: return today - d.amount;
    case date_operand::kind::months_ago: return months_before(today, d.amount);
  }
  return today;
}

// A fact as a comparable value: money in minor units, counts, percentile fractions, days.
struct number_fact {
  wide value = 0;
  int scale = 0;        // value / 10^scale
  wide divisor = 1;     // percentiles: value / divisor
};

int compare_number(const number_fact& f, const decimal& d) {
  // f.value / (10^f.scale × f.divisor)  vs  d.mantissa / 10^d.scale
  return compare_scaled(f.value, f.scale, wide(d.mantissa) * f.divisor, d.scale);
}

std::optional<number_fact> number_of(attribute a, const customer_facts& f) {
  switch (a) {
    case attribute::amount_spent: return number_fact{f.amount_spent_minor, f.currency_exponent};
    case attribute::largest_order_amount:
      if (!f.largest_order_minor) return std::nullopt;
      return number_fact{*f.largest_order_minor, f.currency_exponent};
    case attribute::number_of_orders: return number_fact{f.number_of_orders, 0};
    case attribute::amount_spent_percentile:
      if (!f.percentile || f.percentile->buyers <= 0) return std::nullopt;
      return number_fact{wide(100) * f.percentile->less, 0, f.percentile->buyers};
    case attribute::order_amount:
      if (!f.order_amount_minor) return std::nullopt;
      return number_fact{*f.order_amount_minor, f.currency_exponent};
    default: return std::nullopt;
  }
}

std::optional<day> day_of(attribute a, const customer_facts& f) {
  switch (a) {
    case attribute::first_order_date: return f.first_order_day;
    case attribute::last_order_date: return f.last_order_day;
    case attribute::customer_added_date: return f.added_day;
    default: return std::nullopt;
  }
}

std::optional<std::string> text_of(attribute a, const customer_facts& f) {
  if (a == attribute::customer_email_domain) return f.email_domain;
  if (a == attribute::customer_account_status) return f.account_status;
  return std::nullopt;
}

// Value-typed dispatch shared by evaluation and explanation. `saw` (what the clause saw, as
// text) is only built for an explanation: formatting it costs more than the comparison.
struct leaf_evaluation {
  bool held = false;
  std::string saw;
};

std::string format_number(const number_fact& n) {
  if (n.divisor != 1) {
    // percentile: 100 × less / buyers, two decimals
    const wide hundredths = n.value * 100 / n.divisor;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%lld.%02lld", static_cast<long long>(hundredths / 100), static_cast<long long>(hundredths % 100));
    return buf;
  }
  if (n.scale == 0) return std::to_string(static_cast<long long>(n.value));
  const wide unit = pow10(n.scale);
  const wide whole = n.value / unit, frac = (n.value < 0 ? -n.value : n.value) % unit;
  std::string fraction = std::to_string(static_cast<long long>(frac));
  fraction.insert(0, static_cast<std::size_t>(n.scale) - fraction.size(), '0');
  return (n.value < 0 && whole == 0 ? "-" : "") + std::to_string(static_cast<long long>(whole)) + "." + fraction;
}

struct order_totals {
  std::int64_t count = 0;
  wide sum = 0;
};

bool parameter_holds(const order_parameter& p, const number_fact& value) {
  if (p.between) return compare_number(value, p.low.number) >= 0 && compare_number(value, p.high.number) <= 0;
  return holds(p.op, compare_number(value, p.low.number));
}

bool date_parameter_holds(const order_parameter& p, day on, day today) {
  if (p.between) return on >= resolve(p.low.date, today) && on <= resolve(p.high.date, today);
  return holds(p.op, on < resolve(p.low.date, today) ? -1 : on > resolve(p.low.date, today) ? 1 : 0);
}

order_totals filtered_orders(const condition& c, const customer_facts& f, day today) {
  order_totals t;
  for (const auto& o : f.orders) {
    bool keep = true;
    for (const auto& p : c.params) {
      if (p.n == order_parameter::name::amount) keep = keep && parameter_holds(p, number_fact{o.amount_minor, f.currency_exponent});
      if (p.n == order_parameter::name::date) keep = keep && date_parameter_holds(p, o.on, today);
    }
    if (keep) ++t.count, t.sum += o.amount_minor;
  }
  return t;
}

leaf_evaluation evaluate_matches(const condition& c, const customer_facts& f, day today, bool explain) {
  const order_totals t = filtered_orders(c, f, today);
  bool aggregated = false, held = true;
  for (const auto& p : c.params) {
    if (p.n == order_parameter::name::count) aggregated = true, held = held && parameter_holds(p, number_fact{t.count, 0});
    if (p.n == order_parameter::name::sum_amount)
      aggregated = true, held = held && parameter_holds(p, number_fact{t.sum, f.currency_exponent});
  }
  if (!aggregated) held = t.count > 0;
  if (c.f == condition::form::not_matches) held = !held;
  if (!explain) return {held, {}};
  return {held, std::to_string(t.count) + " matching orders, sum " + format_number(number_fact{t.sum, f.currency_exponent})};
}

leaf_evaluation evaluate_leaf(const condition& c, const customer_facts& f, day today, bool explain) {
  using form = condition::form;
  if (c.f == form::matches || c.f == form::not_matches) return evaluate_matches(c, f, today, explain);
  if (c.attr == attribute::customer_tags) {
    const bool has = std::find(f.tags.begin(), f.tags.end(), c.low.text) != f.tags.end();
    std::string saw;
    if (explain) {
      saw = "[";
      for (const auto& t : f.tags) saw += (saw.size() > 1 ? ", '" : "'") + t + "'";
      saw += "]";
    }
    if (c.f == form::is_null) return {false, saw};
    if (c.f == form::is_not_null) return {true, saw};
    return {c.f == form::contains ? has : !has, saw};
  }
  switch (detail::type_of(c.attr)) {
    case detail::value_type::money:
    case detail::value_type::number: {
      auto n = number_of(c.attr, f);
      const std::string saw = !explain ? std::string() : n ? format_number(*n) : "NULL";
      if (c.f == form::is_null) return {!n, saw};
      if (c.f == form::is_not_null) return {n.has_value(), saw};
      if (!n) return {false, saw};
      if (c.f == form::between) return {compare_number(*n, c.low.number) >= 0 && compare_number(*n, c.high.number) <= 0, saw};
      return {holds(c.op, compare_number(*n, c.low.number)), saw};
    }
    case detail::value_type::date: {
      auto d = day_of(c.attr, f);
      const std::string saw = !explain ? std::string() : d ? format_day(*d) : "NULL";
      if (c.f == form::is_null) return {!d, saw};
      if (c.f == form::is_not_null) return {d.has_value(), saw};
      if (!d) return {false, saw};
      const day low = resolve(c.low.date, today);
      if (c.f == form::between) return {*d >= low && *d <= resolve(c.high.date, today), saw};
      return {holds(c.op, *d < low ? -1 : *d > low ? 1 : 0), saw};
    }
    default: {
      auto t = text_of(c.attr, f);
      const std::string saw = !explain ? std::string() : t ? "'" + *t + "'" : "NULL";
      if (c.f == form::is_null) return {!t, saw};
      if (c.f == form::is_not_null) return {t.has_value(), saw};
      if (!t) return {false, saw};
      return {holds(c.op, t->compare(c.low.text) == 0 ? 0 : 1), saw};
    }
  }
}

bool evaluate(const expression& e, const customer_facts& f, day today, std::vector<clause_explanation>* trace) {
  switch (e.k) {
    case expression::kind::leaf: {
      auto r = evaluate_leaf(e.leaf, f, today, trace != nullptr);
      if (trace) trace->push_back({e.leaf.text, e.leaf.at, r.saw, r.held});
      return r.held;
    }
    case expression::kind::negation: return !evaluate(*e.children[0], f, today, trace);
    case expression::kind::all_of: {
      bool all = true;
      for (const auto& c : e.children) {
        if (!evaluate(*c, f, today, trace)) all = false;
        if (!all && !trace) return false;
      }
      return all;
    }
    case expression::kind::any_of: {
      bool any = false;
      for (const auto& c : e.children) {
        if (evaluate(*c, f, today, trace)) any = true;
        if (any && !trace) return true;
      }
      return any;
    }
  }
  return false;
}

// Candidate days on which `fact_day op resolve(operand, t)` could flip for t > today: the
// relative threshold passes fact_day on the day it equals it and the day after.
void candidates_for(day fact_day, const date_operand& d, day today, std::optional<day>& best) {
  if (d.k == date_operand::kind::absolute) return;  // no time dependence
  auto consider = [&](day t) {
    if (t > today && (!best || t < *best)) best = t;
  };
  if (d.k == date_operand::kind::days_ago) {
    consider(fact_day + d.amount);
    consider(fact_day + d.amount + 1);
    return;
  }
  // months_before(t, m) is non-decreasing in t. The day `m` months after fact_day (its inverse,
  // clamped to that month's end) is the first day it reaches fact_day, unless the clamp cut
  // fact_day's day of the month short (Jan 31 + 1 month = Feb 28): then the first such day is
  // the next, the 1st of the following month. Every earlier day maps before fact_day. When that
  // day has passed, tomorrow stays a candidate while it lies within four days of the inverse
  // (the answer is checked again just after the flip). Two calendar conversions, not one per
  // day of a window around the inverse: this runs for every order in a window on every
  // evaluation.
  const day inverse = months_before(fact_day, -d.amount);
  const day first = months_before(inverse, d.amount) >= fact_day ? inverse : inverse + 1;
  const day t = std::max(first, today + 1);
  if (t <= inverse + 4) consider(t);
}

void next_change_in(const expression& e, const customer_facts& f, day today, std::optional<day>& best) {
  if (e.k != expression::kind::leaf) {
    for (const auto& c : e.children) next_change_in(*c, f, today, best);
    return;
  }
  const condition& c = e.leaf;
  if (c.f == condition::form::matches || c.f == condition::form::not_matches) {
    for (const auto& p : c.params) {
      if (p.n != order_parameter::name::date) continue;
      for (const auto& o : f.orders) {
        candidates_for(o.on, p.low.date, today, best);
        if (p.between) candidates_for(o.on, p.high.date, today, best);
      }
    }
    return;
  }
  if (detail::type_of(c.attr) != detail::value_type::date) return;
  if (c.f != condition::form::compare && c.f != condition::form::between) return;
  auto d = day_of(c.attr, f);
  if (!d) return;
  candidates_for(*d, c.low.date, today, best);
  if (c.f == condition::form::between) candidates_for(*d, c.high.date, today, best);
}

}  // namespace

bool matches(const query& q, const customer_facts& facts, day today) {
  return q.root && evaluate(*q.root, facts, today, nullptr);
}

explanation explain(const query& q, const customer_facts& facts, day today) {
  explanation out;
  if (q.root) out.matched = evaluate(*q.root, facts, today, &out.clauses);
  return out;
}

std::optional<day> next_change(const query& q, const customer_facts& facts, day today) {
  std::optional<day> best;
  if (q.root) next_change_in(*q.root, facts, today, best);
  return best;
}

}  // namespace rules

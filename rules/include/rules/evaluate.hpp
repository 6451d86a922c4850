// Evaluating a parsed query for one customer on one day: the answer, the explanation clause by
// clause, and the next day on which time alone could change the answer. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rules/facts.hpp"
#include "rules/query.hpp"

namespace rules {

// Whether the customer matches on `today`. A comparison with NULL is false; NOT is plain
// negation.
bool matches(const query& q, const customer_facts& facts, day today);

struct clause_explanation {
  std::string clause;  // the clause as written
  position at;
  std::string saw;     // the value the clause looked at ("NULL" when missing)
  bool held = false;
};

struct explanation {
  bool matched = false;
  std::vector<clause_explanation> clauses;  // every leaf, in source order
};

explanation explain(const query& q, const customer_facts& facts, day today);

// The earliest day after `today` on which the answer could change with no new fact (an order
// leaving a window, a lapse threshold, a date comparison flipping); nullopt when time alone
// never changes it. A day returned may turn out to change nothing; a change never happens
// before the day returned.
std::optional<day> next_change(const query& q, const customer_facts& facts, day today);

// Civil-day helpers (proleptic Gregorian).
day day_from_civil(int year, unsigned month, unsigned day_of_month);
std::string format_day(day d);  // YYYY-MM-DD
// `d` moved back by `months` calendar months, clamped to the last day of the target month.
day months_before(day d, int months);

}  // namespace rules

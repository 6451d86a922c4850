// Every statement the store prepares is served by an index: a statement that names a customer
// or an order must never walk a whole shop (that was a scan per delivery before the planner
// statistics were pinned). The workload below runs every writer and reader operation, then the
// plans of all prepared statements are checked.
#include <string>

#include "temp_db.hpp"

namespace {

constexpr const char* shop = "plans.myshopify.com";

store::order_record order(store::id_t order_id, store::id_t customer_id, std::int64_t version) {
  store::order_record o;
  o.order_id = order_id;
  o.customer_id = customer_id;
  o.name = "#1";
  o.updated_at_ms = version;
  o.processed_at_ms = version;
  o.net_amount_minor = 100;
  o.currency = "USD";
  o.financial_status = "paid";
  o.email = "a@example.com";
  return o;
}

void run_every_operation(store::writer& w, store::reader& r) {
  store::profile_record p;
  p.customer_id = 7;
  p.updated_at_ms = 10;
  p.email = "a@example.com";
  p.phone = "+1 613 555 0142";
  p.tags = std::vector<std::string>{"vip"};
  REQUIRE(w.begin().has_value());
  REQUIRE(w.ensure_shop(shop, "USD").has_value());
  REQUIRE(w.claim_delivery(shop, "w1", "orders/create", 1).has_value());
  REQUIRE(w.keep_raw_body(shop, "w1", "{}").has_value());
  REQUIRE(w.upsert_order(shop, order(1, 7, 10), &p).has_value());
  REQUIRE(w.upsert_order(shop, order(1, 8, 20), nullptr).has_value());
  REQUIRE(w.record_refund(shop, 5, 1, 30, 10).has_value());
  REQUIRE(w.upsert_customer(shop, p, store::profile_source::customer_payload).has_value());
  REQUIRE(w.change_tags(shop, 7, true, {"gold"}, 40).has_value());
  REQUIRE(w.record_purchasing_summary(shop, 7, 100, "USD", 1, 50).has_value());
  REQUIRE(w.record_data_request(shop, 7, "w2", 60).has_value());
  REQUIRE(w.merge_customers(shop, 7, 8).has_value());
  REQUIRE(w.delete_order(shop, 1).has_value());
  REQUIRE(w.upsert_order(shop, order(2, 9, 10), nullptr).has_value());
  REQUIRE(w.delete_customer(shop, 9).has_value());
  REQUIRE(w.upsert_order(shop, order(3, 10, 10), nullptr).has_value());
  REQUIRE(w.redact_customer(shop, 10, {3}, 70).has_value());
  REQUIRE(w.quarantine(shop, "w3", "orders/create", "2025-01", 80, "bad", "x").has_value());
  REQUIRE(w.requarantine(1, "worse").has_value());
  REQUIRE(w.quarantine(shop, "w4", "orders/create", "2025-01", 80, "bad", "x").has_value());
  REQUIRE(w.release_quarantined(2).has_value());
  REQUIRE(w.refresh_aggregates().has_value());
  REQUIRE(w.customer(shop, 7).has_value());
  REQUIRE(w.ledger(shop, 7).has_value());
  REQUIRE(w.memberships(shop, 7).has_value());
  REQUIRE(w.record_segments(shop, 7, {"gold"}, {"gold"}, {"silver"}, 1000, "w1", 90).has_value());
  REQUIRE(w.due_customers(2000, 10).has_value());
  REQUIRE(w.earliest_next_change().has_value());
  REQUIRE(w.customers_after(std::nullopt, 10).has_value());
  REQUIRE(w.customers_after(store::customer_key{shop, 7}, 10).has_value());
  REQUIRE(w.prune(1'000'000'000, store::retention{}).has_value());
  REQUIRE(w.commit().has_value());
  REQUIRE(r.customer(shop, 7).has_value());
  REQUIRE(r.customers_by_email(shop, "A@example.com").has_value());
  REQUIRE(r.ledger(shop, 7).has_value());
  REQUIRE(r.order(shop, 1).has_value());
  REQUIRE(r.last_event_at(shop).has_value());
  REQUIRE(r.quarantined(0, 10).has_value());
  REQUIRE(r.delivery_seen(shop, "w1").has_value());
  REQUIRE(r.memberships(shop, 7).has_value());
  REQUIRE(r.changes(0, 10).has_value());
  REQUIRE(r.customers_by_phone(shop, "16135550142").has_value());
  REQUIRE(r.quarantine_entry_by_id(1).has_value());
  REQUIRE(r.segment_members("gold", std::nullopt, std::nullopt, 10, 100).has_value());
  REQUIRE(r.segment_members("gold", std::string(shop), store::customer_key{shop, 1}, 10, 100).has_value());
  REQUIRE(r.drift(10).has_value());
  REQUIRE(r.drift_count().has_value());
  REQUIRE(r.shops().has_value());
  REQUIRE(r.export_customer(shop, 7).has_value());
}

// A plan step that reads more than the rows the statement names.
bool walks_too_much(const store::statement_plan& s, const std::string& step) {
  // A redact must look at every raw body of the shop for the customer's email: that scan is
  // the point (and redacts are rare). sqlite_schema is read once at open.
  if (s.sql.find("instr(body") != std::string::npos) return false;
  if (s.sql.find("sqlite_schema") != std::string::npos) return false;
  // The change log has no secondary index on purpose (each would cost a random page per
  // change): retention cuts it from its oldest end and a redact, which is rare, scans it.
  if (s.sql.find("FROM changes") != std::string::npos) return false;
  // The drift index is partial: it holds only the customers that drift, so a scan of it is the
  // bounded answer, not a walk of the customers.
  if (step.find("INDEX customers_drift") != std::string::npos) return false;
  if (step.rfind("SCAN ", 0) == 0 && step.find("CONSTANT ROW") == std::string::npos) {
    // Whole-table statements (retention by time, a shop's erasure) are meant to.
    return s.sql.find("WHERE") != std::string::npos;
  }
  const bool names_row = s.sql.find("customer_id = ?") != std::string::npos ||
                         s.sql.find("order_id = ?") != std::string::npos ||
                         s.sql.find("kept_id = ?") != std::string::npos;
  return names_row && step.find("(shop=?)") != std::string::npos;
}

void check_plans(const std::vector<store::statement_plan>& plans) {
  CHECK(plans.size() > 5);
  for (const auto& s : plans)
    for (const auto& step : s.plan) CHECK_MESSAGE(!walks_too_much(s, step), s.sql, " -> ", step);
}

}  // namespace

TEST_CASE("every statement of the writer and the reader uses an index for the rows it names") {
  store_test::temp_db db;
  auto w = db.open_writer();
  auto r = db.open_reader();
  run_every_operation(*w, *r);
  check_plans(w->query_plans());
  check_plans(r->query_plans());
}

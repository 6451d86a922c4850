// The store's final state depends on the set of records it was given, never on their order or
// on whether they came as webhooks or as import records (docs/profile_versions.md).
//
// A random set of records over a few customers and orders (customer payloads and orders with
// nested customers that leave fields out, share versions, move orders between customers; order
// deletes, refunds, tag changes and a merge, which only webhooks bring) is delivered in several
// plans: every record as a webhook in generation order, the importable ones imported first and
// the rest as webhooks after, the reverse, and random interleavings in which consecutive import
// records form batches of random size, or every record is a webhook and several share a
// transaction. Every plan must leave the same rows.

#include <algorithm>
#include <cstdint>
#include <random>
#include <variant>

#include "table_dump.hpp"
#include "temp_db.hpp"

namespace {

using store::id_t;

constexpr const char* shop = "order.myshopify.com";

// The rows every plan must agree on: wall-clock columns (customers.updated_at_ms, tombstone
// and audit times) and memberships (computed by the daemon) aside.
std::string dump(const std::string& path) {
  return store_test::dump_rows(
      path,
      {
          "SELECT * FROM orders ORDER BY shop, order_id",
          "SELECT shop, customer_id, email, email_lower, phone, phone_key, first_name, last_name, "
          "state, created_at_ms, profile_version_ms, profile_from_customer_payload, tags, "
          "amount_spent_minor, number_of_orders, first_order_at_ms, last_order_at_ms, "
          "largest_order_minor, currency, profile_email, email_version, phone_version, "
          "first_name_version, last_name_version, state_version, created_at_version "
          "FROM customers ORDER BY shop, customer_id",
          "SELECT * FROM tag_events ORDER BY 1, 2, 3, 4, 5",
          "SELECT * FROM refunds ORDER BY 1, 2",
          "SELECT shop, order_id FROM order_tombstones ORDER BY 1, 2",
          "SELECT shop, customer_id, kind FROM customer_tombstones ORDER BY 1, 2",
          "SELECT * FROM customer_aliases ORDER BY 1, 2",
          "SELECT domain, currency FROM shops ORDER BY 1",
      });
}

struct order_delete {
  id_t order_id = 0;
};
struct refund {
  id_t refund_id = 0, order_id = 0;
  std::int64_t amount_minor = 0;
};
struct tag_change {
  id_t customer_id = 0;
  bool added = true;
  std::string tag;
  std::int64_t at_ms = 0;
};
struct merge {
  id_t kept_id = 0, deleted_id = 0;
};

// An importable record (an order or a customer payload) or one only a webhook brings.
struct record {
  std::variant<store::import_item, order_delete, refund, tag_change, merge> what;
  bool imported = false;  // in the plans that split, this one comes as an import record
};

struct generator {
  std::mt19937_64 rng;
  explicit generator(std::uint64_t seed) : rng(seed) {}

  std::int64_t pick(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  }
  bool chance(int percent) { return pick(1, 100) <= percent; }
  id_t customer_id() { return static_cast<id_t>(pick(1, 4)); }
  id_t order_id() { return static_cast<id_t>(pick(100, 107)); }

  // Few distinct versions and values, so that records tie and fields are left out.
  store::profile_record profile(id_t id, bool with_tags) {
    store::profile_record p;
    p.customer_id = id;
    p.updated_at_ms = pick(0, 3) * 1000;
    if (chance(60)) p.email = "E" + std::to_string(pick(0, 2)) + "@Example.com";
    if (chance(50)) p.phone = "+1 555 010" + std::to_string(pick(0, 2));
    if (chance(50)) p.first_name = "F" + std::to_string(pick(0, 2));
    if (chance(40)) p.last_name = "L" + std::to_string(pick(0, 2));
    if (chance(40)) p.state = chance(50) ? "enabled" : "disabled";
    if (chance(40)) p.created_at_ms = pick(1, 2) * 100;
    if (with_tags && chance(60)) {
      std::vector<std::string> tags;
      for (int i = static_cast<int>(pick(0, 2)); i > 0; --i)
        tags.push_back("t" + std::to_string(pick(0, 3)));
      p.tags = std::move(tags);
    }
    return p;
  }
  store::order_record order() {
    store::order_record o;
    o.order_id = order_id();
    if (chance(90)) o.customer_id = customer_id();
    o.name = "#" + std::to_string(o.order_id);
    // Versions unique per order: one version of an order is one payload.
    o.updated_at_ms = pick(1, 4) * 1000 + static_cast<std::int64_t>(o.order_id);
    o.processed_at_ms = (static_cast<std::int64_t>(o.order_id) % 3 + 1) * 10'000;
    o.created_at_ms = o.processed_at_ms;
    o.net_amount_minor = pick(1, 5) * 1000;
    o.currency = "USD";
    o.test = chance(5);
    if (chance(10)) o.cancelled_at_ms = 5;
    o.financial_status = chance(5) ? "voided" : "paid";
    o.email = chance(30) ? "" : "o" + std::to_string(pick(0, 2)) + "@example.com";
    return o;
  }
  record next(bool with_merge) {
    record r;
    const int what = static_cast<int>(pick(1, 100));
    if (what <= 30) {
      store::import_item item;
      item.profile = profile(customer_id(), true);
      r.what = std::move(item);
    } else if (what <= 75) {
      store::import_item item;
      item.order = order();
      if (item.order->customer_id && chance(70))
        item.profile = profile(*item.order->customer_id, false);
      r.what = std::move(item);
    } else if (what <= 82) {
      r.what = order_delete{order_id()};
    } else if (what <= 90) {
      // A refund id always names the same order and amount.
      const id_t refund_id = static_cast<id_t>(pick(1, 6));
      r.what = refund{refund_id, 100 + refund_id % 8, static_cast<std::int64_t>(refund_id) * 100};
    } else if (what <= 97 || !with_merge) {
      r.what = tag_change{customer_id(), chance(50), "t" + std::to_string(pick(0, 3)),
                          pick(0, 3) * 1000};
    } else {
      r.what = merge{1, 2};
    }
    r.imported = std::holds_alternative<store::import_item>(r.what) && chance(60);
    return r;
  }
};

// A set of records as Shopify could send it: one version of an order is one payload (with one
// customer and one amount), whichever channel brings it.
std::vector<record> scenario(std::uint64_t seed) {
  generator g(seed);
  const bool with_merge = seed % 3 == 0;
  std::vector<record> records;
  for (int i = static_cast<int>(g.pick(8, 40)); i > 0; --i) records.push_back(g.next(with_merge));
  // One payload per (order, version): a later draw of the same version repeats the first.
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto* a = std::get_if<store::import_item>(&records[i].what);
    if (!a || !a->order) continue;
    for (std::size_t j = 0; j < i; ++j) {
      auto* b = std::get_if<store::import_item>(&records[j].what);
      if (b && b->order && b->order->order_id == a->order->order_id &&
          b->order->updated_at_ms == a->order->updated_at_ms) {
        const bool imported = records[i].imported;
        records[i] = records[j];
        records[i].imported = imported;
        break;
      }
    }
  }
  return records;
}

// One webhook delivery's mutation, inside an open transaction.
void apply(store::writer& w, const record& r) {
  if (const auto* item = std::get_if<store::import_item>(&r.what)) {
    if (item->order) {
      REQUIRE(w.ensure_shop(shop, item->order->currency));
      REQUIRE(w.upsert_order(shop, *item->order, item->profile ? &*item->profile : nullptr));
    } else {
      REQUIRE(w.upsert_customer(shop, *item->profile, store::profile_source::customer_payload));
    }
  } else if (const auto* d = std::get_if<order_delete>(&r.what)) {
    REQUIRE(w.delete_order(shop, d->order_id));
  } else if (const auto* f = std::get_if<refund>(&r.what)) {
    REQUIRE(w.record_refund(shop, f->refund_id, f->order_id, 1, f->amount_minor));
  } else if (const auto* t = std::get_if<tag_change>(&r.what)) {
    REQUIRE(w.change_tags(shop, t->customer_id, t->added, {t->tag}, t->at_ms));
  } else if (const auto* m = std::get_if<merge>(&r.what)) {
    REQUIRE(w.merge_customers(shop, m->kept_id, m->deleted_id));
  }
}

// One webhook delivery: its own transaction.
void deliver(store::writer& w, const record& r) {
  REQUIRE(w.begin());
  apply(w, r);
  REQUIRE(w.refresh_aggregates());
  REQUIRE(w.commit());
}

// Every record as a webhook, in groups of 1 to `max_group` per transaction, as the daemon's
// group commit applies them: several deliveries of one customer meet in one transaction (the
// profiles their orders carry are written once, at the refresh, unless a later mutation of the
// same transaction needs the row first).
std::string run_grouped(const std::vector<record>& records, const std::vector<std::size_t>& order,
                        std::mt19937_64& rng, int max_group) {
  store_test::temp_db db;
  auto w = db.open_writer();
  for (std::size_t at = 0; at < order.size();) {
    const auto group =
        static_cast<std::size_t>(std::uniform_int_distribution<int>(1, max_group)(rng));
    REQUIRE(w->begin());
    for (std::size_t end = std::min(order.size(), at + group); at < end; ++at)
      apply(*w, records[order[at]]);
    REQUIRE(w->refresh_aggregates());
    REQUIRE(w->commit());
  }
  w.reset();
  return dump(db.path);
}

// One import batch: its own transaction, as the daemon's import step applies it.
void import(store::writer& w, const std::vector<const record*>& batch) {
  if (batch.empty()) return;
  std::vector<store::import_item> items;
  REQUIRE(w.begin());
  for (const record* r : batch) {
    items.push_back(std::get<store::import_item>(r->what));
    if (items.back().order) REQUIRE(w.ensure_shop(shop, items.back().order->currency));
  }
  REQUIRE(w.import_batch(shop, items).has_value());
  REQUIRE(w.commit());
}

// Delivers `order` (indexes into `records`); import records that follow each other form
// batches of up to `max_batch`.
std::string run(const std::vector<record>& records, const std::vector<std::size_t>& order,
                bool split, std::mt19937_64& rng, int max_batch) {
  store_test::temp_db db;
  auto w = db.open_writer();
  std::vector<const record*> batch;
  const auto cut = [&] {
    import(*w, batch);
    batch.clear();
  };
  for (std::size_t i : order) {
    const record& r = records[i];
    if (split && r.imported) {
      batch.push_back(&r);
      if (static_cast<int>(batch.size()) >= std::uniform_int_distribution<int>(1, max_batch)(rng))
        cut();
      continue;
    }
    cut();
    deliver(*w, r);
  }
  cut();
  w.reset();
  return dump(db.path);
}

}  // namespace

TEST_CASE("webhooks and import records give the same state in any order") {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    const std::vector<record> records = scenario(seed);
    std::mt19937_64 rng(seed * 104729);
    std::vector<std::size_t> in_order(records.size());
    for (std::size_t i = 0; i < in_order.size(); ++i) in_order[i] = i;
    const std::string reference = run(records, in_order, false, rng, 1);

    // The import first, then the webhooks; the webhooks first, then the import.
    std::vector<std::size_t> imports_first, webhooks_first;
    for (std::size_t i : in_order)
      (records[i].imported ? imports_first : webhooks_first).push_back(i);
    for (std::size_t i : in_order)
      (records[i].imported ? webhooks_first : imports_first).push_back(i);
    CHECK(run(records, imports_first, true, rng, 1000) == reference);
    CHECK(run(records, webhooks_first, true, rng, 1000) == reference);
    // Everything reversed, one import batch or many.
    std::vector<std::size_t> reversed(in_order.rbegin(), in_order.rend());
    CHECK(run(records, reversed, true, rng, 1000) == reference);
    CHECK(run(records, reversed, false, rng, 1) == reference);
    for (int permutation = 0; permutation < 4; ++permutation) {
      CAPTURE(permutation);
      std::vector<std::size_t> shuffled = in_order;
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      CHECK(run(records, shuffled, permutation % 2 == 0, rng, 1 + permutation * 4) == reference);
    }
    // Webhooks only, many to a transaction.
    std::vector<std::size_t> shuffled = in_order;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(run_grouped(records, shuffled, rng, 12) == reference);
    CHECK(run_grouped(records, in_order, rng, 40) == reference);
  }
}

// The schema and its migrations. PRAGMA user_version is the schema version; PRAGMA
// application_id marks the file as shopseg's. Migrations run in order, in one transaction, when
// the writer opens the database; a database of a newer version or another application is refused.
//
// Schema (version 1). Every row is keyed by the shop domain first: ids are unique only within a
// shop. Times are Unix milliseconds (UTC), money is integer minor units of the shop currency.
// Tables that are looked up by their key are WITHOUT ROWID, which stores the row in its primary
// key b-tree once instead of a rowid table plus a key index (an order row with its customer
// index stays near 200 bytes).
//
//   shops               one row per shop domain; active = 0 after app/uninstalled.
//   deliveries          dedup claims (shop, webhook_id); pruned by received_at_ms after
//                       retention.dedup_days. Released when a delivery is quarantined.
//   raw_bodies          bodies of applied deliveries, only when retention.raw_body_days > 0.
//   quarantine          verified deliveries that could not be applied, raw, with the reason.
//   orders              the newest version (updated_at_ms) of each order. customer_id NULL is
//                       a guest order. An order counts when test = 0, cancelled_at_ms IS NULL
//                       and financial_status != 'voided'; the (shop, customer_id,
//                       processed_at_ms) index serves aggregates and the ledger.
//   refunds             refunds/create records, shown with their order; amounts change only
//                       through the order's own versions.
//   order_tombstones    deleted order ids: a late create or update of them changes nothing.
//   customers           profile, folded tags (comma-joined, lower-cased, sorted), aggregates
//                       recomputed from orders, Shopify's purchasing summary beside ours.
//                       profile_version_ms guards the profile fields; profile_from_customer_payload
//                       says whether a customers/* payload set them (an order's nested customer
//                       never overrides one of the same or newer version); version 7 guards each
//                       field on its own. next_change_at_ms
//                       is the next time a time-based segment answer may change (indexed).
//   customer_tombstones deleted ('deleted') and erased ('redacted') customer ids.
//   customer_aliases    merged customers: deleted_id -> kept_id.
//   tag_events          full tag sets ('set', at a customer payload's updated_at) and
//                       additions/removals ('add'/'remove', at occurredAt); tags are the fold of
//                       these in time order. Events before the newest 'set' are pruned.
//   data_requests       customers/data_request deliveries.
//   audit               erasures and data requests: action and ids, never PII.
//   memberships         current segment memberships; changes: the change log (seq ordered).
//
// Version 2 adds indexes for merges and redacts; version 3 the settings table; version 4 moves
// memberships into customers.segments and drops the change log's secondary indexes; version 5
// adds the phone lookup key and the drift index; version 6 keys deliveries by (shop_keys.id,
// webhook id as 16 bytes when it is a UUID) without the topic; version 7 versions each profile
// field. Planner statistics are pinned at
// every open (see planner_statistics).
#include "sqlite.hpp"
#include "store/phone.hpp"
#include "webhook_key.hpp"

#include <iterator>
#include <string>

namespace store::detail {
namespace {

constexpr const char* migration_1 = R"sql(
CREATE TABLE shops(
  domain TEXT PRIMARY KEY,
  currency TEXT NOT NULL DEFAULT '',
  active INTEGER NOT NULL DEFAULT 1,
  last_event_at_ms INTEGER,
  uninstalled_at_ms INTEGER
) WITHOUT ROWID;

CREATE TABLE deliveries(
  shop TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY(shop, webhook_id)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_time ON deliveries(received_at_ms);

CREATE TABLE raw_bodies(
  shop TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY(shop, webhook_id)
);
CREATE INDEX raw_bodies_by_time ON raw_bodies(received_at_ms);

CREATE TABLE quarantine(
  id INTEGER PRIMARY KEY,
  shop TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  topic TEXT NOT NULL,
  api_version TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  reason TEXT NOT NULL,
  body TEXT NOT NULL
);

CREATE TABLE orders(
  shop TEXT NOT NULL,
  order_id INTEGER NOT NULL,
  customer_id INTEGER,
  name TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  processed_at_ms INTEGER NOT NULL,
  net_amount_minor INTEGER NOT NULL,
  currency TEXT NOT NULL,
  test INTEGER NOT NULL,
  cancelled_at_ms INTEGER,
  financial_status TEXT NOT NULL,
  fulfillment_status TEXT NOT NULL,
  email TEXT NOT NULL,
  PRIMARY KEY(shop, order_id)
) WITHOUT ROWID;
CREATE INDEX orders_by_customer ON orders(shop, customer_id, processed_at_ms);

CREATE TABLE refunds(
  shop TEXT NOT NULL,
  refund_id INTEGER NOT NULL,
  order_id INTEGER NOT NULL,
  created_at_ms INTEGER NOT NULL,
  amount_minor INTEGER NOT NULL,
  PRIMARY KEY(shop, refund_id)
) WITHOUT ROWID;
CREATE INDEX refunds_by_order ON refunds(shop, order_id);

CREATE TABLE order_tombstones(
  shop TEXT NOT NULL,
  order_id INTEGER NOT NULL,
  deleted_at_ms INTEGER NOT NULL,
  PRIMARY KEY(shop, order_id)
) WITHOUT ROWID;

CREATE TABLE customers(
  shop TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  email TEXT,
  email_lower TEXT,
  phone TEXT,
  first_name TEXT,
  last_name TEXT,
  state TEXT,
  created_at_ms INTEGER,
  profile_version_ms INTEGER NOT NULL DEFAULT 0,
  profile_from_customer_payload INTEGER NOT NULL DEFAULT 0,
  tags TEXT NOT NULL DEFAULT '',
  amount_spent_minor INTEGER NOT NULL DEFAULT 0,
  number_of_orders INTEGER NOT NULL DEFAULT 0,
  first_order_at_ms INTEGER,
  last_order_at_ms INTEGER,
  largest_order_minor INTEGER NOT NULL DEFAULT 0,
  currency TEXT NOT NULL DEFAULT '',
  shopify_amount_spent_minor INTEGER,
  shopify_number_of_orders INTEGER,
  shopify_currency TEXT,
  shopify_summary_at_ms INTEGER,
  updated_at_ms INTEGER NOT NULL DEFAULT 0,
  next_change_at_ms INTEGER,
  PRIMARY KEY(shop, customer_id)
) WITHOUT ROWID;
CREATE INDEX customers_by_email ON customers(shop, email_lower);
CREATE INDEX customers_by_next_change ON customers(next_change_at_ms)
  WHERE next_change_at_ms IS NOT NULL;

CREATE TABLE customer_tombstones(
  shop TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('deleted', 'redacted')),
  PRIMARY KEY(shop, customer_id)
) WITHOUT ROWID;

CREATE TABLE customer_aliases(
  shop TEXT NOT NULL,
  deleted_id INTEGER NOT NULL,
  kept_id INTEGER NOT NULL,
  PRIMARY KEY(shop, deleted_id)
) WITHOUT ROWID;

CREATE TABLE tag_events(
  shop TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK(kind IN ('set', 'add', 'remove')),
  tags TEXT NOT NULL,
  PRIMARY KEY(shop, customer_id, at_ms, kind, tags)
) WITHOUT ROWID;

CREATE TABLE data_requests(
  shop TEXT NOT NULL,
  webhook_id TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  PRIMARY KEY(shop, webhook_id)
) WITHOUT ROWID;

CREATE TABLE audit(
  id INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  shop TEXT NOT NULL,
  action TEXT NOT NULL,
  customer_id INTEGER
);

CREATE TABLE memberships(
  shop TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  segment TEXT NOT NULL,
  PRIMARY KEY(shop, customer_id, segment)
) WITHOUT ROWID;

CREATE TABLE changes(
  seq INTEGER PRIMARY KEY,
  at_ms INTEGER NOT NULL,
  shop TEXT NOT NULL,
  customer_id INTEGER NOT NULL,
  segment TEXT NOT NULL,
  joined INTEGER NOT NULL,
  cause TEXT NOT NULL
);
CREATE INDEX changes_by_time ON changes(at_ms);
CREATE INDEX changes_by_customer ON changes(shop, customer_id);
)sql";

// Version 2: merges re-point aliases by their kept id; a redact finds its data requests.
constexpr const char* migration_2 = R"sql(
CREATE INDEX customer_aliases_by_kept ON customer_aliases(shop, kept_id);
CREATE INDEX data_requests_by_customer ON data_requests(shop, customer_id);
)sql";

// Version 3: small named settings of the daemon (the fingerprint of the segment definitions the
// stored memberships were computed with).
constexpr const char* migration_3 = R"sql(
CREATE TABLE settings(
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 4: memberships move into the customer row (customers.segments, comma-joined sorted
// names), written in the page the delivery already dirtied instead of a table of their own,
// and the change log keeps only its sequence order (it is pruned from its oldest end; an
// erasure, which is rare, scans it). Both save random page writes on every membership change.
constexpr const char* migration_4 = R"sql(
ALTER TABLE customers ADD COLUMN segments TEXT NOT NULL DEFAULT '';
UPDATE customers SET segments = coalesce((SELECT group_concat(segment, ',') FROM
  (SELECT segment FROM memberships m WHERE m.shop = customers.shop AND m.customer_id = customers.customer_id
   ORDER BY segment)), '');
DROP TABLE memberships;
DROP INDEX changes_by_time;
DROP INDEX changes_by_customer;
)sql";

// Version 5: lookup by phone. customers.phone_key is the phone normalised to digits with an
// optional leading '+' (shopseg_phone_key(), the same function as store::phone_key), kept by the
// writer beside email_lower and written only when it changes. customers_drift holds only the
// customers whose aggregates disagree with Shopify's purchasing summary: it is empty for every
// customer without a summary, so the ingest path writes it only when a customer's drift starts
// or ends, and /v1/health reads it without scanning the customers.
constexpr const char* migration_5 = R"sql(
ALTER TABLE customers ADD COLUMN phone_key TEXT;
UPDATE customers SET phone_key = shopseg_phone_key(phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_by_phone ON customers(shop, phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX customers_drift ON customers(shop, customer_id) WHERE shopify_number_of_orders IS NOT NULL
  AND (shopify_number_of_orders != number_of_orders OR shopify_amount_spent_minor != amount_spent_minor);
)sql";

// Version 6: compact dedup keys. A dedup key is kept for every delivery of the retention
// (7 days by default), so it was the largest thing stored per order: about 180 bytes with the
// shop domain and the webhook id as text in the row and again in the time index. Shops get an
// integer key (shop_keys; a shop's key is kept when the shop is erased), webhook ids that are
// canonical UUIDs are stored as 16 bytes (shopseg_webhook_key(), see webhook_key.hpp), and the
// topic, which nothing read, is no longer kept: about 60 bytes per key.
constexpr const char* migration_6 = R"sql(
CREATE TABLE shop_keys(
  id INTEGER PRIMARY KEY,
  domain TEXT NOT NULL UNIQUE
);
INSERT INTO shop_keys(domain) SELECT DISTINCT shop FROM deliveries ORDER BY shop;
CREATE TABLE deliveries_v6(
  shop_id INTEGER NOT NULL,
  webhook_id BLOB NOT NULL,
  received_at_ms INTEGER NOT NULL,
  PRIMARY KEY(shop_id, webhook_id)
) WITHOUT ROWID;
INSERT INTO deliveries_v6(shop_id, webhook_id, received_at_ms)
  SELECT k.id, shopseg_webhook_key(d.webhook_id), d.received_at_ms
  FROM deliveries d JOIN shop_keys k ON k.domain = d.shop;
DROP TABLE deliveries;
ALTER TABLE deliveries_v6 RENAME TO deliveries;
CREATE INDEX deliveries_by_time ON deliveries(received_at_ms);
)sql";

// Version 7: a version per profile field, so that the stored profile does not depend on the
// order in which its records arrived (docs/profile_versions.md). <field>_version is the key of
// the record the field's value came from: its updated_at_ms * 2, plus 1 for a customers/*
// payload (which wins a tie with an order's nested customer); NULL while no record carried the
// field. profile_email is the newest email a profile record carried; customers.email is the
// email shown and looked up, derived from it and the orders' emails at every refresh.
// profile_version_ms becomes the newest version seen and profile_from_customer_payload whether
// any customers/* payload was seen. Existing rows take their profile version for every field
// they hold; the email of a customer known only from orders that have an email stays derived.
constexpr const char* migration_7 = R"sql(
ALTER TABLE customers ADD COLUMN profile_email TEXT;
ALTER TABLE customers ADD COLUMN email_version INTEGER;
ALTER TABLE customers ADD COLUMN phone_version INTEGER;
ALTER TABLE customers ADD COLUMN first_name_version INTEGER;
ALTER TABLE customers ADD COLUMN last_name_version INTEGER;
ALTER TABLE customers ADD COLUMN state_version INTEGER;
ALTER TABLE customers ADD COLUMN created_at_version INTEGER;
UPDATE customers SET
  phone_version = CASE WHEN phone IS NULL THEN NULL ELSE profile_version_ms * 2 + profile_from_customer_payload END,
  first_name_version = CASE WHEN first_name IS NULL THEN NULL ELSE profile_version_ms * 2 + profile_from_customer_payload END,
  last_name_version = CASE WHEN last_name IS NULL THEN NULL ELSE profile_version_ms * 2 + profile_from_customer_payload END,
  state_version = CASE WHEN state IS NULL THEN NULL ELSE profile_version_ms * 2 + profile_from_customer_payload END,
  created_at_version = CASE WHEN created_at_ms IS NULL THEN NULL ELSE profile_version_ms * 2 + profile_from_customer_payload END;
UPDATE customers SET profile_email = email,
  email_version = profile_version_ms * 2 + profile_from_customer_payload
  WHERE email IS NOT NULL AND (profile_from_customer_payload = 1 OR NOT EXISTS(SELECT 1 FROM orders o
    WHERE o.shop = customers.shop AND o.customer_id = customers.customer_id AND o.email != ''));
)sql";

// migrations[i] brings the schema from version i to version i + 1.
constexpr const char* migrations[] = {migration_1, migration_2, migration_3, migration_4,
                                      migration_5, migration_6, migration_7};

// Fixed planner statistics (sqlite_stat1), written at every open. Without statistics SQLite
// cannot know that `shop` has few distinct values, and it answers "WHERE shop = ? AND
// customer_id = ?" by walking the shop's whole primary key instead of orders_by_customer: a scan
// per delivery. These rows describe a large single-shop store (1,000,000 orders, 200,000
// customers); the plans they give are right at every size, and pinning them keeps the plans the
// same whatever the data, so an ANALYZE by hand cannot change them. Format: rows in the index,
// then the average rows per distinct value of each leading column prefix.
constexpr const char* planner_statistics = R"sql(
DELETE FROM sqlite_stat1;
INSERT INTO sqlite_stat1(tbl, idx, stat) VALUES
  ('shops', 'shops', '1 1'),
  ('shop_keys', 'sqlite_autoindex_shop_keys_1', '1 1'),
  ('settings', 'settings', '10 1'),
  ('deliveries', 'deliveries', '1000000 1000000 1'),
  ('deliveries', 'deliveries_by_time', '1000000 1'),
  ('raw_bodies', 'sqlite_autoindex_raw_bodies_1', '1000 1000 1'),
  ('raw_bodies', 'raw_bodies_by_time', '1000 1'),
  ('orders', 'orders', '1000000 1000000 1'),
  ('orders', 'orders_by_customer', '1000000 1000000 5 1'),
  ('refunds', 'refunds', '10000 10000 1'),
  ('refunds', 'refunds_by_order', '10000 10000 1'),
  ('order_tombstones', 'order_tombstones', '10000 10000 1'),
  ('customers', 'customers', '200000 200000 1'),
  ('customers', 'customers_by_email', '200000 200000 1'),
  ('customers', 'customers_by_next_change', '200000 1'),
  ('customers', 'customers_by_phone', '100000 100000 1'),
  ('customers', 'customers_drift', '100 100 1'),
  ('customer_tombstones', 'customer_tombstones', '10000 10000 1'),
  ('customer_aliases', 'customer_aliases', '1000 1000 1'),
  ('customer_aliases', 'customer_aliases_by_kept', '1000 1000 1'),
  ('tag_events', 'tag_events', '100000 100000 2 1 1 1'),
  ('data_requests', 'data_requests', '100 100 1'),
  ('data_requests', 'data_requests_by_customer', '100 100 1'),
  ('changes', NULL, '1000000');
ANALYZE sqlite_schema;
)sql";
constexpr std::int64_t current_version = std::size(migrations);

// Whether the file belongs to shopseg, and its schema version (0: a fresh, empty database).
result<std::int64_t> owned_version(connection& db) {
  auto app = db.scalar("PRAGMA application_id");
  if (!app) return app.error();
  auto version = db.scalar("PRAGMA user_version");
  if (!version) return version.error();
  if (*app == 0 && *version == 0) {
    auto objects = db.scalar("SELECT count(*) FROM sqlite_schema");
    if (!objects) return objects.error();
    if (*objects == 0) return 0;
  }
  if (*app != application_id) return make_sqlite_error(SQLITE_NOTADB);
  if (*version > current_version) return make_sqlite_error(SQLITE_CORRUPT);
  return *version;
}

result<void> apply_pending(connection& db, std::int64_t from) {
  for (std::int64_t version = from; version < current_version; ++version) {
    STORE_TRY(db.exec(migrations[version]));
  }
  const std::string stamp = "PRAGMA application_id = " + std::to_string(application_id) +
                            "; PRAGMA user_version = " + std::to_string(current_version);
  return db.exec(stamp.c_str());
}

// Creates sqlite_stat1 when missing (ANALYZE of an empty table writes no row) and pins it.
result<void> pin_planner_statistics(connection& db) {
  auto exists = db.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'");
  if (!exists) return exists.error();
  if (*exists == 0) STORE_TRY(db.exec("ANALYZE sqlite_schema"));
  STORE_TRY(db.exec("BEGIN IMMEDIATE"));
  if (auto r = db.exec(planner_statistics); !r) {
    (void)db.exec("ROLLBACK");
    return r.error();
  }
  return db.exec("COMMIT");
}

result<void> migrate_schema(connection& db) {
  auto version = owned_version(db);
  if (!version) return version.error();
  if (*version == current_version) return {};
  STORE_TRY(db.exec("BEGIN IMMEDIATE"));
  // Another process may have migrated between the check and the lock.
  version = owned_version(db);
  if (version && *version < current_version) {
    if (auto applied = apply_pending(db, *version); !applied) version = applied.error();
  }
  if (!version) {
    (void)db.exec("ROLLBACK");
    return version.error();
  }
  return db.exec("COMMIT");
}

void phone_key_function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  if (!text) return sqlite3_result_null(ctx);
  auto key = phone_key(std::string_view(text, static_cast<std::size_t>(sqlite3_value_bytes(argv[0]))));
  if (!key) return sqlite3_result_null(ctx);
  sqlite3_result_text64(ctx, key->data(), key->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

}  // namespace

result<void> register_functions(connection& db) {
  const int rc = sqlite3_create_function_v2(db.handle(), "shopseg_phone_key", 1,
                                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                                            phone_key_function, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return make_sqlite_error(rc);
  return {};
}

result<void> migrate(connection& db) {
  STORE_TRY(register_functions(db));
  STORE_TRY(register_webhook_key_function(db));
  STORE_TRY(migrate_schema(db));
  return pin_planner_statistics(db);
}

result<void> check_owner(connection& db) {
  auto version = owned_version(db);
  if (!version) return version.error();
  return {};
}

result<void> check_schema(connection& db) {
  auto version = owned_version(db);
  if (!version) return version.error();
  if (*version != current_version) return make_sqlite_error(SQLITE_CORRUPT);
  return {};
}

}  // namespace store::detail

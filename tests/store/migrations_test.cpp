// Opening databases: fresh schema, idempotent reopen, refusal of foreign and newer files.
#include <sqlite3.h>

#include <fstream>

#include "store/errors.hpp"
#include "temp_db.hpp"

namespace {

long long pragma(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) == SQLITE_OK);
  long long value = -1;
  if (sqlite3_step(stmt) == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return value;
}

void exec(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

// The dedup table as versions 1 to 5 had it, holding the claim "w1" of a.myshopify.com, and the
// customers table before version 7.
#define V5_DELIVERIES                                                                          \
  "DROP TABLE deliveries; DROP TABLE shop_keys;"                                               \
  "CREATE TABLE deliveries(shop TEXT NOT NULL, webhook_id TEXT NOT NULL, topic TEXT NOT NULL," \
  " received_at_ms INTEGER NOT NULL, PRIMARY KEY(shop, webhook_id)) WITHOUT ROWID;"            \
  "CREATE INDEX deliveries_by_time ON deliveries(received_at_ms);"                             \
  "INSERT INTO deliveries VALUES('a.myshopify.com', 'w1', 'orders/create', 1000);" V6_CUSTOMERS

// The customers table as versions 1 to 6 had it: one version for the whole profile.
#define V6_CUSTOMERS                                                                        \
  "ALTER TABLE customers DROP COLUMN profile_email; ALTER TABLE customers DROP COLUMN "     \
  "email_version;"                                                                          \
  "ALTER TABLE customers DROP COLUMN phone_version; ALTER TABLE customers DROP COLUMN "     \
  "first_name_version;"                                                                     \
  "ALTER TABLE customers DROP COLUMN last_name_version; ALTER TABLE customers DROP COLUMN " \
  "state_version;"                                                                          \
  "ALTER TABLE customers DROP COLUMN created_at_version;"

}  // namespace

TEST_CASE("a fresh database gets the current schema version and shopseg's application id") {
  store_test::temp_db db;
  db.open_writer().reset();
  CHECK(pragma(db.path, "PRAGMA user_version") == 7);
  CHECK(pragma(db.path, "PRAGMA application_id") == 0x53485347);
  CHECK(pragma(db.path, "SELECT count(*) FROM sqlite_schema WHERE name = 'orders'") == 1);
}

TEST_CASE("reopening a migrated database changes nothing and keeps the data") {
  store_test::temp_db db;
  {
    auto w = db.open_writer();
    REQUIRE(w->begin());
    REQUIRE(w->claim_delivery("a.myshopify.com", "w1", "orders/create", 1000).value());
    REQUIRE(w->commit());
  }
  auto w = db.open_writer();
  CHECK(pragma(db.path, "PRAGMA user_version") == 7);
  CHECK(db.open_reader()->delivery_seen("a.myshopify.com", "w1").value());
}

TEST_CASE("a version 1 database is migrated to the current version and keeps its data") {
  store_test::temp_db db;
  {
    auto w = db.open_writer();
    REQUIRE(w->begin());
    REQUIRE(w->claim_delivery("a.myshopify.com", "w1", "orders/create", 1000).value());
    REQUIRE(w->commit());
  }
  // Back to what version 1 had.
  exec(db.path, V5_DELIVERIES
                "DROP INDEX customers_by_phone; DROP INDEX customers_drift; ALTER TABLE customers DROP COLUMN phone_key;"
                "DROP INDEX customer_aliases_by_kept; DROP INDEX data_requests_by_customer;"
                "DROP TABLE settings; ALTER TABLE customers DROP COLUMN segments;"
                "CREATE TABLE memberships(shop TEXT NOT NULL, customer_id INTEGER NOT NULL,"
                " segment TEXT NOT NULL, PRIMARY KEY(shop, customer_id, segment)) WITHOUT ROWID;"
                "CREATE INDEX changes_by_time ON changes(at_ms);"
                "CREATE INDEX changes_by_customer ON changes(shop, customer_id);"
                "INSERT INTO customers(shop, customer_id, phone) VALUES('a.myshopify.com', 7, '+1 (613) 555-0142');"
                "INSERT INTO memberships VALUES('a.myshopify.com', 7, 'vip'), ('a.myshopify.com', 7, 'gold');"
                "PRAGMA user_version = 1");
  db.open_writer().reset();
  // Version 4 moved memberships into the customer row.
  CHECK(db.open_reader()->memberships("a.myshopify.com", 7).value() == std::vector<std::string>{"gold", "vip"});
  CHECK(pragma(db.path, "SELECT count(*) FROM sqlite_schema WHERE name = 'memberships'") == 0);
  CHECK(pragma(db.path, "PRAGMA user_version") == 7);
  CHECK(pragma(db.path,
               "SELECT count(*) FROM sqlite_schema WHERE name = 'customer_aliases_by_kept'") == 1);
  CHECK(db.open_reader()->delivery_seen("a.myshopify.com", "w1").value());
  // Version 5 keyed the phones that were already stored.
  CHECK(db.open_reader()->customers_by_phone("a.myshopify.com", "16135550142").value().size() == 1);
}

TEST_CASE("planner statistics are pinned at open, whatever ANALYZE wrote") {
  store_test::temp_db db;
  db.open_writer().reset();
  exec(db.path, "ANALYZE; UPDATE sqlite_stat1 SET stat = '1 1 1 1' WHERE idx = 'orders_by_customer'");
  db.open_writer().reset();
  CHECK(pragma(db.path, "SELECT count(*) FROM sqlite_stat1 WHERE idx = 'orders_by_customer' AND "
                        "stat = '1000000 1000000 5 1'") == 1);
}

TEST_CASE("an existing database of another application is refused as corrupt") {
  store_test::temp_db db;
  exec(db.path, "CREATE TABLE other(x); PRAGMA application_id = 42;");
  auto opened = store::writer::open(db.path);
  REQUIRE_FALSE(opened.has_value());
  CHECK(store::is_corrupt(opened.error()));
}

TEST_CASE("a refused foreign database is left byte for byte as it was") {
  store_test::temp_db db;
  exec(db.path, "CREATE TABLE other(x); INSERT INTO other VALUES (1);");
  auto bytes = [&] {
    std::ifstream in(db.path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string before = bytes();
  auto opened = store::writer::open(db.path);
  REQUIRE_FALSE(opened.has_value());
  CHECK(store::is_corrupt(opened.error()));
  CHECK(bytes() == before);  // no journal_mode = WAL written into its header
}

TEST_CASE("a database without application id but with tables is refused") {
  store_test::temp_db db;
  exec(db.path, "CREATE TABLE other(x)");
  auto opened = store::writer::open(db.path);
  REQUIRE_FALSE(opened.has_value());
  CHECK(store::is_corrupt(opened.error()));
}

TEST_CASE("a database of a newer schema version is refused as corrupt") {
  store_test::temp_db db;
  db.open_writer().reset();
  exec(db.path, "PRAGMA user_version = 99");
  auto opened = store::writer::open(db.path);
  REQUIRE_FALSE(opened.has_value());
  CHECK(store::is_corrupt(opened.error()));
  auto read = store::reader::open(db.path);
  REQUIRE_FALSE(read.has_value());
  CHECK(store::is_corrupt(read.error()));
}

TEST_CASE("a file that is not a database is refused with SQLITE_NOTADB") {
  store_test::temp_db db;
  {
    std::ofstream out(db.path, std::ios::binary);
    for (int i = 0; i < 200; ++i) out << "this is not an sqlite database at all. ";
  }
  auto opened = store::writer::open(db.path);
  REQUIRE_FALSE(opened.has_value());
  CHECK((opened.error().value() & 0xff) == SQLITE_NOTADB);
  CHECK(store::is_corrupt(opened.error()));
  CHECK_FALSE(store::is_disk_full(opened.error()));
}

TEST_CASE("open without create fails on a missing file") {
  store_test::temp_db db;
  store::open_options options;
  options.create = false;
  auto opened = store::writer::open(db.path, options);
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.error().category() == store::sqlite_category());
  CHECK_FALSE(store::is_corrupt(opened.error()));
}

TEST_CASE("version 6 keeps every dedup key of version 5, UUIDs as 16 bytes, other ids as text") {
  store_test::temp_db db;
  db.open_writer().reset();
  const char* uuid = "0b6e4c3a-6b1f-4c2e-9a0d-2f5e8c7b1a90";
  exec(db.path, V5_DELIVERIES
                "INSERT INTO deliveries VALUES('b.myshopify.com', '0b6e4c3a-6b1f-4c2e-9a0d-2f5e8c7b1a90', 'orders/create', 2000),"
                " ('b.myshopify.com', '0B6E4C3A-6B1F-4C2E-9A0D-2F5E8C7B1A90', 'orders/create', 3000);"
                "PRAGMA user_version = 5");
  {
    auto w = db.open_writer();
    CHECK(pragma(db.path, "PRAGMA user_version") == 7);
    CHECK(pragma(db.path,
                 "SELECT count(*) FROM deliveries WHERE typeof(webhook_id) = 'blob' AND "
                 "length(webhook_id) = 16") == 1);
    CHECK(pragma(db.path, "SELECT count(*) FROM deliveries WHERE typeof(webhook_id) = 'text'") ==
          2);
    auto r = db.open_reader();
    CHECK(r->delivery_seen("a.myshopify.com", "w1").value());
    CHECK(r->delivery_seen("b.myshopify.com", uuid).value());
    CHECK(r->delivery_seen("b.myshopify.com", "0B6E4C3A-6B1F-4C2E-9A0D-2F5E8C7B1A90").value());
    CHECK_FALSE(r->delivery_seen("a.myshopify.com", uuid).value());
    CHECK_FALSE(r->delivery_seen("b.myshopify.com", "w1").value());
    // The migrated keys still deduplicate; the same id for another shop is a new delivery.
    REQUIRE(w->begin());
    CHECK_FALSE(w->claim_delivery("a.myshopify.com", "w1", "orders/create", 4000).value());
    CHECK_FALSE(w->claim_delivery("b.myshopify.com", uuid, "orders/create", 4000).value());
    CHECK(w->claim_delivery("a.myshopify.com", uuid, "orders/create", 4000).value());
    CHECK(w->claim_delivery("b.myshopify.com", "0b6e4c3a-6b1f-4c2e-9a0d-2f5e8c7b1a91", "orders/create", 4000).value());
    REQUIRE(w->commit());
  }
  // Retention still prunes by time.
  auto w = db.open_writer();
  REQUIRE(w->begin());
  CHECK(w->prune(2500 + 7 * 86'400'000LL, store::retention{}).value() == 2);
  REQUIRE(w->commit());
  CHECK_FALSE(db.open_reader()->delivery_seen("a.myshopify.com", "w1").value());
  CHECK(db.open_reader()->delivery_seen("b.myshopify.com", "0B6E4C3A-6B1F-4C2E-9A0D-2F5E8C7B1A90").value());
}

TEST_CASE("a dedup claim rolled back leaves no shop key behind in the writer's memory") {
  store_test::temp_db db;
  auto w = db.open_writer();
  REQUIRE(w->begin());
  REQUIRE(w->claim_delivery("new.myshopify.com", "w1", "orders/create", 1000).value());
  w->rollback();
  CHECK(pragma(db.path, "SELECT count(*) FROM shop_keys") == 0);
  REQUIRE(w->begin());
  REQUIRE(w->claim_delivery("other.myshopify.com", "w1", "orders/create", 1000).value());
  REQUIRE(w->claim_delivery("new.myshopify.com", "w1", "orders/create", 1000).value());
  REQUIRE(w->commit());
  auto r = db.open_reader();
  CHECK(r->delivery_seen("new.myshopify.com", "w1").value());
  CHECK(r->delivery_seen("other.myshopify.com", "w1").value());
  CHECK_FALSE(r->delivery_seen("third.myshopify.com", "w1").value());
}

TEST_CASE("version 7 versions every stored profile field with the profile's version") {
  store_test::temp_db db;
  db.open_writer().reset();
  exec(db.path, V6_CUSTOMERS
       "INSERT INTO customers(shop, customer_id, email, phone, first_name, profile_version_ms,"
       " profile_from_customer_payload) VALUES('a.myshopify.com', 7, 'A@x.com', '+1', 'Ann', 500, "
       "1),"
       " ('a.myshopify.com', 8, 'order@x.com', NULL, NULL, 300, 0),"
       " ('a.myshopify.com', 9, 'nested@x.com', NULL, NULL, 300, 0);"
       "INSERT INTO orders(shop, order_id, customer_id, name, updated_at_ms, created_at_ms,"
       " processed_at_ms, net_amount_minor, currency, test, financial_status, fulfillment_status,"
       " email) VALUES('a.myshopify.com', 1, 8, '#1', 1, 1, 1, 100, 'USD', 0, 'paid', '', "
       "'order@x.com');"
       "PRAGMA user_version = 6");
  db.open_writer().reset();
  CHECK(pragma(db.path, "PRAGMA user_version") == 7);
  CHECK(pragma(db.path, "SELECT email_version FROM customers WHERE customer_id = 7") == 1001);
  CHECK(pragma(db.path, "SELECT phone_version FROM customers WHERE customer_id = 7") == 1001);
  CHECK(pragma(db.path, "SELECT last_name_version IS NULL FROM customers WHERE customer_id = 7") ==
        1);
  CHECK(pragma(db.path, "SELECT profile_email = email FROM customers WHERE customer_id = 7") == 1);
  // Customer 8's email came from its order: it stays derived. Customer 9's has no other source.
  CHECK(pragma(db.path, "SELECT email_version IS NULL FROM customers WHERE customer_id = 8") == 1);
  CHECK(pragma(db.path, "SELECT email_version FROM customers WHERE customer_id = 9") == 600);
}

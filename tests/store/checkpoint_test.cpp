// The background checkpointer and the writer's WAL restart beside readers: a reader never makes
// the writer wait, and what readers see stays whole through checkpoints and restarts.
#include <sqlite3.h>

#include "store/checkpointer.hpp"
#include "temp_db.hpp"

namespace {

constexpr const char* shop = "checkpoints.myshopify.com";

void add_customers(store::writer& w, store::id_t first, int count) {
  REQUIRE(w.begin());
  for (store::id_t id = first; id < first + static_cast<store::id_t>(count); ++id) {
    store::profile_record p;
    p.customer_id = id;
    p.updated_at_ms = 10;
    p.email = "c" + std::to_string(id) + "@example.com";
    REQUIRE(w.upsert_customer(shop, p, store::profile_source::customer_payload));
  }
  REQUIRE(w.commit());
}

}  // namespace

TEST_CASE(
    "the WAL restart does not wait for a reader that still uses the WAL, and succeeds after it") {
  store_test::temp_db db;
  auto opened = store::writer::open(db.path, {.create = true, .background_checkpoints = true});
  REQUIRE(opened.has_value());
  auto& w = **opened;
  auto checkpoints = store::checkpointer::open(db.path);
  REQUIRE(checkpoints.has_value());
  auto r = db.open_reader();

  add_customers(w, 1, 50);
  REQUIRE(r->begin());  // a read transaction on the WAL as it is now
  CHECK(r->customers_by_email(shop, "c1@example.com").value().size() == 1);
  add_customers(w, 100, 50);
  CHECK(w.wal_frames() > 0);
  REQUIRE((*checkpoints)
              ->checkpoint()
              .has_value());  // copies what the reader does not need; never waits

  // With the writer's usual 5 s busy timeout this waited for the reader; now it answers at once.
  auto restarted = w.restart_wal();
  REQUIRE(restarted.has_value());
  CHECK_FALSE(*restarted);
  CHECK(w.wal_frames() > 0);
  // The reader's snapshot is intact: it still sees the first 50 and not the next 50.
  CHECK(r->customers_by_email(shop, "c50@example.com").value().size() == 1);
  CHECK(r->customers_by_email(shop, "c100@example.com").value().empty());
  r->end();

  restarted = w.restart_wal();
  REQUIRE(restarted.has_value());
  CHECK(*restarted);
  CHECK(w.wal_frames() == 0);
  add_customers(w, 200, 10);
  REQUIRE(r->begin());
  CHECK(r->customers_by_email(shop, "c149@example.com").value().size() == 1);
  CHECK(r->customers_by_email(shop, "c209@example.com").value().size() == 1);
  r->end();
}

TEST_CASE("checkpoints that stop short of the WAL's end keep every committed row") {
  store_test::temp_db db;
  auto opened = store::writer::open(db.path, {.create = true, .background_checkpoints = true});
  REQUIRE(opened.has_value());
  auto& w = **opened;
  auto checkpoints = store::checkpointer::open(db.path);
  REQUIRE(checkpoints.has_value());
  auto r = db.open_reader();
  for (int round = 0; round < 5; ++round) {
    add_customers(w, 1000 * (round + 1), 20);
    REQUIRE(r->begin());  // holds this snapshot through the next commit and checkpoint
    CHECK(r->customers_by_email(shop, "c" + std::to_string(1000 * (round + 1)) + "@example.com")
              .value()
              .size() == 1);
    add_customers(w, 1000 * (round + 1) + 500, 20);
    REQUIRE((*checkpoints)
                ->checkpoint()
                .has_value());  // partial: the reader's snapshot ends before the WAL does
    r->end();
  }
  auto again = db.open_reader();
  REQUIRE(again->begin());
  for (int round = 0; round < 5; ++round)
    for (int k : {0, 19, 500, 519})
      CHECK(again
                ->customers_by_email(shop,
                                     "c" + std::to_string(1000 * (round + 1) + k) + "@example.com")
                .value()
                .size() == 1);
  again->end();
}

TEST_CASE("a commit's WAL frames are in the file when COMMIT returns, however many there are") {
  // The writer gathers a commit's WAL writes and hands them on in pieces
  // (store/src/wal_buffer.hpp): commits of a few frames, of more than one piece (the default VFS
  // takes at most 128 KiB a write) and of more than the whole buffer (4 MiB) must all be read back
  // by other connections, which read the WAL file itself.
  store_test::temp_db db;
  auto opened = store::writer::open(db.path, {.create = true, .background_checkpoints = true});
  REQUIRE(opened.has_value());
  auto& w = **opened;
  auto r = db.open_reader();
  const std::string padding(300, 'x');
  store::id_t next = 1;
  for (int count : {1, 400, 20000}) {
    REQUIRE(w.begin());
    for (int i = 0; i < count; ++i, ++next) {
      store::profile_record p;
      p.customer_id = next;
      p.updated_at_ms = 10;
      p.email = "c" + std::to_string(next) + "@example.com";
      p.first_name = padding;
      REQUIRE(w.upsert_customer(shop, p, store::profile_source::customer_payload));
    }
    REQUIRE(w.commit());
    REQUIRE(r->begin());
    for (store::id_t id : {next - count, next - 1 - count / 2, next - 1})
      CHECK(r->customers_by_email(shop, "c" + std::to_string(id) + "@example.com").value().size() ==
            1);
    r->end();
  }
  CHECK(w.wal_frames() * 4096 > 4 * 1024 * 1024);
  // A connection of SQLite's default VFS sees every row and a whole database.
  sqlite3* raw = nullptr;
  REQUIRE(sqlite3_open_v2(db.path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(
      sqlite3_prepare_v2(
          raw,
          "SELECT count(*), (SELECT integrity_check FROM pragma_integrity_check) FROM customers",
          -1, &s, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(s) == SQLITE_ROW);
  CHECK(sqlite3_column_int64(s, 0) == static_cast<std::int64_t>(next - 1));
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(s, 1))) == "ok");
  sqlite3_finalize(s);
  sqlite3_close(raw);
}

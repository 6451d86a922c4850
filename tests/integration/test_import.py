"""`shopseg import` through the real daemon: Shopify's export formats, the webhook rules
(version guard, tombstones, idempotence) on imported records, resuming after an interruption,
rejected lines by file:line, and webhooks answered while an import runs."""

import http.server
import importlib.util
import json
import os
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

import harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_TIMEOUT = 300  # a bound on one client run, not an assert

_spec = importlib.util.spec_from_file_location(
    "gen_bulk_jsonl", os.path.join(HERE, "..", "..", "bench", "gen_bulk_jsonl.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)


def shipped_segments():
    with open(os.path.join(HERE, "..", "..", "config.example.toml")) as f:
        text = f.read()
    return text[text.index("[[segment]]"):]


def import_fixture(name):
    return os.path.join(H.FIXTURES, "import", name)


def run_import(d, *args):
    p = subprocess.run([H.SHOPSEG, "--admin-socket", d.admin_sock, "import", "--shop", H.SHOP] + list(args),
                       capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def summary(text):
    out = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            out[parts[0]] = int(parts[1])
    return out


def file_identity(path):
    """The client's name for a file in its progress row: FNV-1a of the first MiB, and the size."""
    h = 1469598103934665603
    with open(path, "rb") as f:
        for b in f.read(1 << 20):
            h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "%016x-%d" % (h, os.path.getsize(path))


def progress_of(d, path):
    r = H.unix_request(d.admin_sock, "POST", "/v1/import?shop=%s&file=%s" % (H.SHOP, file_identity(path)), b"")
    assert r.status == 200, r
    return r.json()["progress"]


def memberships(db_path):
    """customer id -> comma-joined memberships, read from a stopped daemon's store."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return dict(db.execute("SELECT customer_id, segments FROM customers"))
    finally:
        db.close()


def bulk_customer(cid, updated, tags=(), email=None):
    return {"id": "gid://shopify/Customer/%d" % cid, "email": email or "c%d@example.com" % cid,
            "firstName": "F%d" % (cid % 1000), "lastName": "L", "tags": list(tags), "state": "ENABLED",
            "createdAt": "2024-01-01T00:00:00Z", "updatedAt": updated}


def bulk_order(oid, cid, cents, updated, processed="2026-10-01T12:00:00Z", cancelled=None):
    return {"id": "gid://shopify/Order/%d" % oid, "name": "#%d" % (oid % 10000), "processedAt": processed,
            "createdAt": processed, "updatedAt": updated, "cancelledAt": cancelled, "test": False,
            "displayFinancialStatus": "PAID",
            "currentTotalPriceSet": {"shopMoney": {"amount": H.money(cents), "currencyCode": "USD"}},
            "__parentId": "gid://shopify/Customer/%d" % cid}


class FixtureImport(H.DaemonTestCase):
    daemon_kwargs = {"extra_config": shipped_segments()}

    def test_fixtures_counts_rejections_and_cause(self):
        files = [import_fixture(n) for n in ("bulk_customers_orders.jsonl", "rest_orders_page.json",
                                             "rest_customers.jsonl")]
        rc, out, err = run_import(self.daemon, *files)
        self.assertEqual(rc, 6, out + err)  # finished, with rejected lines
        s = summary(out)
        self.assertEqual(s["imported"], 12, out)
        self.assertEqual(s["rejected"], 6, out)
        self.assertEqual(s["skipped"], 1, out)  # the line item
        for where in ("bulk_customers_orders.jsonl:6: currentTotalPriceSet.shopMoney.amount",
                      "bulk_customers_orders.jsonl:10: invalid JSON",
                      "bulk_customers_orders.jsonl:11: updatedAt: missing",
                      "rest_orders_page.json:1: orders[2].updated_at: missing",
                      "rest_customers.jsonl:2: id: not a 64-bit unsigned id",
                      "rest_customers.jsonl:3: customers[1].id: missing"):
            self.assertIn(where, out)
        ann = self.daemon.customer(9007199254740993).json()
        self.assertEqual(ann["amount_spent"], "3300.00")  # 3100 + 200: beyond 2^53, exact
        self.assertEqual(ann["email"], "Ann@Example.com")
        self.assertEqual(ann["tags"], ["race-team", "vip"])
        bo = self.daemon.customer(4004).json()
        self.assertEqual(bo["number_of_orders"], 1)  # cancelled and test orders do not count
        self.assertEqual(bo["amount_spent"], "120.50")
        self.assertEqual(self.daemon.customer(777).json()["amount_spent"], "75.00")  # its order, orphaned
        changes = self.daemon.query("/v1/changes").json()["changes"]
        self.assertTrue(changes)
        self.assertEqual({c["cause"] for c in changes}, {"import"})
        # JSON summary, and a rerun: everything is already there.
        rc, out, err = run_import(self.daemon, "--json", "--restart", files[0])
        doc = json.loads(out)
        self.assertEqual((doc["imported"], doc["unchanged"], doc["rejected"]), (0, 8, 3))
        self.assertEqual(doc["rejections"][0], {"file": files[0], "line": 6, "reason":
                         "currentTotalPriceSet.shopMoney.amount: not an exact decimal amount in its currency"})
        rc, out, err = run_import(self.daemon, files[0])
        self.assertEqual(rc, 0, err)
        self.assertIn("already imported", err)

    def test_import_needs_the_admin_socket(self):
        r = H.unix_request(self.daemon.query_sock, "POST", "/v1/import?shop=%s" % H.SHOP, b"")
        self.assertEqual(r.status, 403)
        r = H.unix_request(self.daemon.admin_sock, "POST", "/v1/import", b"")
        self.assertEqual(r.status, 400)


class Semantics(unittest.TestCase):
    """Two daemons with the same config: orders of arrival must not matter."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shopseg-import-")
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()

    def daemon(self):
        d = H.Daemon(extra_config=shipped_segments())
        self.daemons.append(d)
        return d.start()

    def write(self, name, lines):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            for obj in lines:
                f.write(json.dumps(obj) + "\n")
        return path

    def test_memberships_after_an_import_equal_a_full_recompute(self):
        # Several chunks of several batches: every batch moves the high-value percentile
        # boundary, customers of earlier batches follow it, and a customer's row is written
        # once with the memberships its batch ends with.
        path = os.path.join(self.tmp, "many.jsonl")
        with open(path, "w") as f:
            gen.generate(f, customers=7000, orders=35000, seed=5)
        d = self.daemon()
        rc, out, err = run_import(d, path)
        self.assertEqual(rc, 0, out + err)
        d.stop()
        imported = memberships(d.db_path)
        self.assertEqual(len(imported), 7000)
        self.assertGreater(sum("high-value" in m for m in imported.values()), 1000)
        # Another segment list: the next start recomputes every customer before it is ready.
        d.extra_config = shipped_segments() + '\n[[segment]]\nname = "zz-probe"\nquery = "number_of_orders >= 1000000"\n'
        d._write_config()
        d.start()
        d.stop()
        self.assertEqual(memberships(d.db_path), imported)

    def test_import_then_webhooks_equals_webhooks_then_import(self):
        a, b = 7_100_000_000_000_001, 7_100_000_000_000_002
        o1, o2, o3, o4 = (6_100_000_000_000_000 + i for i in range(1, 5))
        bulk = self.write("history.jsonl", [
            bulk_customer(a, "2026-09-01T00:00:00Z"),
            bulk_order(o1, a, 400_000, "2026-10-01T13:00:00Z"),   # a webhook has a newer version
            bulk_order(o2, a, 900_000, "2026-10-02T13:00:00Z"),   # a webhook deletes it
            bulk_customer(b, "2026-11-20T00:00:00Z", tags=["influencer"]),  # newer than the webhook's
            bulk_order(o3, b, 1_200_000, "2026-10-03T13:00:00Z", processed="2026-10-03T12:00:00Z"),
        ])

        def webhooks(d):
            cust_a = H.customer_obj(a, updated_at="2026-09-01T00:00:00Z")
            d.post_ok(self, H.order_payload(o1, 150_000, "2026-11-01T10:00:00-06:00",
                                            processed_at="2026-10-01T12:00:00Z", customer=cust_a),
                      topic="orders/updated")
            d.post_ok(self, {"id": o2}, topic="orders/delete")
            d.post_ok(self, H.customer_obj(b, tags="old-tag", updated_at="2026-10-01T00:00:00Z"),
                      topic="customers/update")
            d.post_ok(self, H.order_payload(o4, 30_000, "2026-11-05T10:00:00-06:00", customer=cust_a))

        first, second = self.daemon(), self.daemon()
        rc, out, err = run_import(first, bulk)
        self.assertEqual(rc, 0, out + err)
        webhooks(first)
        webhooks(second)
        rc, out, err = run_import(second, bulk)
        self.assertEqual(rc, 0, out + err)
        s = summary(out)
        self.assertEqual(s["unchanged"], 2, out)  # o1 is older than the webhook's, o2 is tombstoned
        one, two = H.store_state(first, [a, b], [o1, o2, o3, o4]), H.store_state(second, [a, b], [o1, o2, o3, o4])
        self.assertEqual(one, two)
        self.assertEqual(one["c%d" % a][1]["amount_spent"], "1800.00")  # 1500 (webhook's o1) + 300
        self.assertEqual(one["o%d" % o2][0], 404)
        self.assertEqual(one["c%d" % b][1]["tags"], ["influencer"])

    def test_twice_and_resumed_equal_one_import(self):
        path = os.path.join(self.tmp, "bulk.jsonl")
        with open(path, "w") as f:
            gen.generate(f, customers=6000, orders=60000, seed=3)
        customers = [7_000_000_000_000 + i for i in range(0, 6000, 397)]
        orders = [5_000_000_000_001 + i for i in range(0, 60000, 3911)]

        full = self.daemon()
        rc, out, err = run_import(full, path)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(summary(out)["imported"], 66000, out)
        want = H.store_state(full, customers, orders)
        seq = full.query("/v1/changes?limit=1").json()["last_seq"]
        rc, out, err = run_import(full, "--restart", path)
        self.assertEqual(summary(out)["imported"], 0, out)
        self.assertEqual(summary(out)["unchanged"], 66000, out)
        self.assertEqual(full.query("/v1/changes?limit=1").json()["last_seq"], seq)
        self.assertEqual(H.store_state(full, customers, orders), want)

        # Interrupted once some chunks are acknowledged, then run again: it resumes.
        resumed = self.daemon()
        proc = subprocess.Popen([H.SHOPSEG, "--admin-socket", resumed.admin_sock, "import", "--shop", H.SHOP, path],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + RUN_TIMEOUT
        while progress_of(resumed, path) is None and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        progress = progress_of(resumed, path)
        self.assertIsNotNone(progress)
        self.assertLess(progress["offset"], os.path.getsize(path), "the import finished before it was interrupted")
        rc, out, err = run_import(resumed, path)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("resuming at line %d" % (progress["line"] + 1), err)
        self.assertLess(summary(out)["imported"] + summary(out)["unchanged"], 66000)
        self.assertEqual(H.store_state(resumed, customers, orders), want)


    def test_webhooks_racing_an_import_on_its_own_records_lose_nothing(self):
        # Webhooks for the file's own orders and customers (newer versions, deletes) while the
        # import runs give the same store as the import followed by the same webhooks: whichever
        # batch a record lands in, the version guard and the tombstones decide.
        path = os.path.join(self.tmp, "race.jsonl")
        with open(path, "w") as f:
            gen.generate(f, customers=3000, orders=30000, seed=11)
        first_c, first_o = 7_000_000_000_000, 5_000_000_000_000  # customer k has orders k*10+1..k*10+10
        actions = []
        for n in range(1, 301):
            k = (n * 97) % 3000
            oid, cid = first_o + k * 10 + 1 + n % 10, first_c + k
            if n % 5 == 0:
                actions.append(({"id": oid}, "orders/delete"))
            elif n % 7 == 0:
                # With every field the file has (fields left out are covered by
                # test_import_order.py).
                actions.append((H.customer_obj(cid, email="c%d@example.com" % k, first_name="C%d" % k,
                                               last_name="Buyer", tags="influencer",
                                               created_at="2022-01-01T00:00:00Z",
                                               updated_at="2027-01-01T00:00:00Z"), "customers/update"))
            else:
                actions.append((H.order_payload(oid, 100_000 + n, "2027-01-02T00:00:00Z",
                                                processed_at="2026-11-01T12:00:00Z",
                                                customer=H.customer_obj(cid)), "orders/updated"))
        customers = sorted({first_c + (n * 97) % 3000 for n in range(1, 301)})
        orders = sorted({first_o + ((n * 97) % 3000) * 10 + 1 + n % 10 for n in range(1, 301)})

        raced = self.daemon()
        proc = subprocess.Popen([H.SHOPSEG, "--admin-socket", raced.admin_sock, "import", "--shop", H.SHOP, path],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        during = 0
        try:
            for body, topic in actions:
                raced.post_ok(self, body, topic=topic)
                during += proc.poll() is None
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertGreater(during, 0, "the import finished before the first webhook")

        after = self.daemon()
        rc, out, err = run_import(after, path)
        self.assertEqual(rc, 0, out + err)
        for body, topic in actions:
            after.post_ok(self, body, topic=topic)
        want = H.store_state(after, customers, orders)
        self.assertEqual(H.store_state(raced, customers, orders), want)
        self.assertIn(404, {v[0] for k, v in want.items() if k.startswith("o")})


class LiveTraffic(H.DaemonTestCase):
    daemon_kwargs = {"extra_config": shipped_segments()}

    def test_webhooks_are_answered_while_an_import_runs(self):
        tmp = tempfile.mkdtemp(prefix="shopseg-import-")
        path = os.path.join(tmp, "bulk.jsonl")
        with open(path, "w") as f:
            gen.generate(f, customers=10000, orders=80000, seed=5)
        proc = subprocess.Popen([H.SHOPSEG, "--admin-socket", self.daemon.admin_sock, "import", "--shop", H.SHOP,
                                 path], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        during, n = 0, 0
        try:
            while proc.poll() is None:
                n += 1
                cid, oid = 8_000_000_000_000 + n, 9_000_000_000_000 + n
                self.daemon.post_ok(self, H.order_payload(oid, 1000 + n, "2026-11-05T10:00:00-06:00",
                                                          customer=H.customer_obj(cid)))
                if proc.poll() is None:
                    during += 1
                self.assertEqual(self.daemon.customer(cid).json()["amount_spent"], H.money(1000 + n))
            out, err = proc.communicate(timeout=RUN_TIMEOUT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err)
        self.assertEqual(summary(out)["imported"], 90000, out)
        self.assertGreater(during, 0, "the import finished before the first webhook")
        changes = self.daemon.query("/v1/changes?limit=10000").json()["changes"]
        self.assertIn("import", {c["cause"] for c in changes})


class StandInAdminApi(http.server.BaseHTTPRequestHandler):
    """Answers as Shopify's GraphQL Admin API does for a bulk operation (the documented
    responses): a 429 and a THROTTLED error first, then the operation CREATED, RUNNING twice,
    COMPLETED with a url, and the JSONL at that url."""

    token = "shpat_test_token"
    result = None  # the JSONL file served at /result.jsonl
    calls = None   # what arrived, for the test to check

    def log_message(self, *args):
        pass

    def send(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with open(self.result, "rb") as f:
            self.send(200, f.read())

    def do_POST(self):
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["query"]
        calls = type(self).calls
        calls.append(query)
        if self.headers.get("X-Shopify-Access-Token") != self.token:
            return self.send(401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"})
        if "bulkOperationRunQuery" in query:
            runs = sum("bulkOperationRunQuery" in q for q in calls)
            if runs == 1:
                return self.send(429, {"errors": "Exceeded 2 calls per second for api client."}, [("Retry-After", "0.1")])
            if runs == 2:
                return self.send(200, {"errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]})
            assert "customers" in query and "currentTotalPriceSet" in query
            return self.send(200, {"data": {"bulkOperationRunQuery": {
                "bulkOperation": {"id": "gid://shopify/BulkOperation/720918", "status": "CREATED"},
                "userErrors": []}}})
        polls = sum("BulkOperation/720918" in q for q in calls)
        status = "RUNNING" if polls < 3 else "COMPLETED"
        host, port = self.server.server_address
        return self.send(200, {"data": {"node": {
            "id": "gid://shopify/BulkOperation/720918", "status": status, "errorCode": None,
            "objectCount": str(4 * polls), "fileSize": None if status == "RUNNING" else "4096",
            "url": "http://%s:%d/result.jsonl" % (host, port) if status == "COMPLETED" else None,
            "partialDataUrl": None}}})


class Backfill(H.DaemonTestCase):
    def setUp(self):
        StandInAdminApi.calls = []
        StandInAdminApi.result = import_fixture("bulk_customers_orders.jsonl")
        self.server = http.server.HTTPServer(("127.0.0.1", 0), StandInAdminApi)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.tmp = tempfile.mkdtemp(prefix="shopseg-backfill-")
        self.endpoint = "http://127.0.0.1:%d/admin/api/2025-10/graphql.json" % self.server.server_address[1]

    def tearDown(self):
        self.server.shutdown()
        self.server.server_close()

    def backfill(self, token):
        token_file = os.path.join(self.tmp, "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        p = subprocess.run([H.SHOPSEG, "--admin-socket", self.daemon.admin_sock, "backfill", "--shop", H.SHOP,
                            "--token-file", token_file, "--endpoint", self.endpoint, "--poll-ms", "20",
                            "--out", os.path.join(self.tmp, "result.jsonl")],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        return p.returncode, p.stdout, p.stderr

    def test_backfill_runs_the_bulk_operation_and_imports_its_result(self):
        rc, out, err = self.backfill(StandInAdminApi.token)
        self.assertEqual(rc, 6, out + err)  # the fixture's three unusable lines
        self.assertEqual(summary(out)["imported"] + summary(out)["unchanged"], 8, out)
        self.assertIn("rate-limited", err)
        self.assertIn("result.jsonl:6: currentTotalPriceSet.shopMoney.amount", out)
        self.assertEqual(self.daemon.customer(9007199254740993).json()["amount_spent"], "3300.00")
        polls = [q for q in StandInAdminApi.calls if "BulkOperation/720918" in q]
        self.assertEqual(len(polls), 3)

    def test_a_refused_token_is_said_plainly(self):
        rc, out, err = self.backfill("wrong-token")
        self.assertEqual(rc, 7, out + err)
        self.assertIn("refused the access token (HTTP 401)", err)


if __name__ == "__main__":
    H.main()

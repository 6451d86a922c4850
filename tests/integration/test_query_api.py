"""The query API of SPEC §4 beyond single customers, through the real sockets of the real
binary: lookup by phone, segments with counts that follow deliveries, paginated members,
long-polling of the change log, quarantine retry, a customer's export, health (with a shop gone
silent and drift from Shopify's purchasing summary), Prometheus metrics, and the admin routes
refused on the query socket."""

import datetime
import json
import random
import re
import sqlite3
import threading
import time
import urllib.parse

import harness as H
from test_segments import shipped_segments


def nid():
    return random.randrange(2**53, 2**63)


def now_iso(days_ago=0):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")


class QueryApi(H.DaemonTestCase):
    daemon_kwargs = {"extra_config": shipped_segments()}

    # -- helpers

    def get(self, target, admin=False, status=200):
        r = self.daemon.query(target, admin=admin)
        self.assertEqual(r.status, status, r)
        return r.json() if r.headers.get("content-type", "").startswith("application/json") else r

    def post_admin(self, target):
        return H.unix_request(self.daemon.admin_sock, "POST", target)

    def buy(self, cid, cents=1000, customer=None, shop=H.SHOP, days_ago=1):
        oid = nid()
        customer = customer or H.customer_obj(cid)
        self.daemon.post_ok(self, H.order_payload(oid, cents, now_iso(days_ago), customer=customer), shop=shop)
        return oid

    def counts(self, segment):
        for s in self.get("/v1/segments")["segments"]:
            if s["name"] == segment:
                return s
        self.fail("segment %s not listed" % segment)

    def members(self, segment, limit, shop=None):
        """Every page of the listing; returns the members and the number of pages."""
        seen, after, pages = [], None, 0
        while True:
            q = {"limit": str(limit)}
            if shop:
                q["shop"] = shop
            if after:
                q["after"] = after
            page = self.get("/v1/segments/%s/members?%s" % (segment, urllib.parse.urlencode(q)))
            pages += 1
            self.assertEqual(page["segment"], segment)
            self.assertLessEqual(len(page["members"]), limit)
            seen.extend(page["members"])
            if page["next"] is None:
                return seen, pages
            after = page["next"]

    # -- lookup

    def test_lookup_by_phone_normalises_and_email_stays_case_insensitive(self):
        cid = nid()
        phone = "+1613555%04d" % (cid % 10000)
        cu = H.customer_obj(cid, email="Phone.Case.%d@Example.com" % cid, phone=phone, updated_at=H.ts(3))
        self.daemon.post_ok(self, cu, topic="customers/create")
        digits = phone[1:]
        typed = "+1 (613) 555-%s" % digits[-4:]
        for p in (phone, typed, digits):
            found = self.get("/v1/customers/%s?phone=%s" % (H.SHOP, urllib.parse.quote(p)))["customers"]
            self.assertEqual([c["id"] for c in found], [cid], p)
            self.assertEqual(found[0]["phone"], phone)
            self.assertIn("as_of", found[0])
            self.assertIn("updated_at", found[0])
        self.assertEqual(self.get("/v1/customers/%s?phone=%%2B19995550000" % H.SHOP)["customers"], [])
        found = self.get("/v1/customers/%s?email=%s" % (H.SHOP, urllib.parse.quote(cu["email"].upper())))
        self.assertEqual([c["id"] for c in found["customers"]], [cid])
        err = self.get("/v1/customers/%s" % H.SHOP, status=400)["error"]
        self.assertEqual(err["code"], "missing_lookup")

    # -- segments and members

    def test_segment_counts_follow_deliveries(self):
        first, repeat = self.counts("first-time"), self.counts("repeat")
        self.assertEqual(first["tier"], None)
        self.assertEqual(self.counts("platinum")["tier"], 1)
        self.assertEqual(first["query"], "number_of_orders = 1")
        cid = nid()
        self.buy(cid)
        now = self.counts("first-time")
        self.assertEqual(now["members"], first["members"] + 1)
        self.assertEqual(now["by_shop"].get(H.SHOP, 0), first["by_shop"].get(H.SHOP, 0) + 1)
        self.buy(cid)
        self.assertEqual(self.counts("first-time")["members"], first["members"])
        self.assertEqual(self.counts("repeat")["members"], repeat["members"] + 1)
        # Another shop is counted apart.
        other = nid()
        self.buy(other, shop=H.OTHER_SHOP)
        self.assertEqual(self.counts("first-time")["by_shop"].get(H.OTHER_SHOP, 0),
                         first["by_shop"].get(H.OTHER_SHOP, 0) + 1)
        # An erasure takes the customer out of the counts.
        self.daemon.post_ok(self, H.redact_payload(cid, "c%d@example.com" % cid), topic="customers/redact")
        self.assertEqual(self.counts("repeat")["members"], repeat["members"])
        listing = self.get("/v1/segments")
        self.assertRegex(listing["as_of"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

    def test_members_pages_hold_every_member_exactly_once(self):
        mine = [nid() for _ in range(7)]
        for cid in mine:
            self.buy(cid)
        seen, pages = self.members("first-time", 2, shop=H.SHOP)
        ids = [m["id"] for m in seen]
        self.assertEqual(len(ids), len(set(ids)), "a member listed twice")
        self.assertTrue(set(mine) <= set(ids))
        self.assertEqual(len(ids), self.counts("first-time")["by_shop"][H.SHOP])
        self.assertGreaterEqual(pages, 4)
        for m in seen:
            self.assertEqual(m["shop"], H.SHOP)
            self.assertIn("email", m)
            self.assertIn("tier", m)
        # Without a shop the listing crosses shops.
        every, _ = self.members("first-time", 3)
        self.assertEqual(len(every), self.counts("first-time")["members"])

    def test_members_errors(self):
        self.assertEqual(self.get("/v1/segments/no-such/members", status=404)["error"]["code"], "unknown_segment")
        self.assertEqual(self.get("/v1/segments/repeat/members?limit=0", status=400)["error"]["code"], "bad_limit")
        self.assertEqual(self.get("/v1/segments/repeat/members?limit=1001", status=400)["error"]["code"], "bad_limit")
        self.assertEqual(self.get("/v1/segments/repeat/members?after=%3D%3D", status=400)["error"]["code"],
                         "bad_cursor")
        self.buy(nid())
        self.buy(nid())
        page = self.get("/v1/segments/first-time/members?limit=1&shop=" + H.SHOP)
        self.assertIsNotNone(page["next"])
        # A cursor of one shop's listing does not continue another's.
        r = self.get("/v1/segments/first-time/members?shop=%s&after=%s" % (H.OTHER_SHOP, page["next"]), status=400)
        self.assertEqual(r["error"]["code"], "bad_cursor")

    # -- the change log

    def test_long_poll_answers_when_a_change_commits(self):
        last = self.get("/v1/changes")["last_seq"]
        result = {}

        def poll():
            # The socket timeout (30 s) is below the wait (60 s): only an early answer passes.
            result["r"] = H.unix_request(self.daemon.query_sock, "GET",
                                         "/v1/changes?after=%d&wait=60" % last, timeout=30)

        t = threading.Thread(target=poll)
        t.start()
        time.sleep(0.3)  # let it reach its wait (the test holds either way)
        # While it waits, the query thread answers everyone else.
        for _ in range(3):
            self.get("/v1/health")
            self.get("/v1/segments")
        cid = nid()
        self.buy(cid)
        t.join(40)
        self.assertFalse(t.is_alive())
        r = result["r"]
        self.assertEqual(r.status, 200, r)
        body = r.json()
        self.assertTrue(body["changes"], body)
        self.assertTrue(any(c["customer_id"] == cid for c in body["changes"]), body)
        self.assertGreater(body["last_seq"], last)

    def test_long_poll_answers_empty_after_the_wait(self):
        last = self.get("/v1/changes")["last_seq"]
        body = self.get("/v1/changes?after=%d&wait=1" % last)
        self.assertEqual(body, {"changes": [], "last_seq": last})
        self.assertEqual(self.get("/v1/changes?wait=61", status=400)["error"]["code"], "bad_wait")

    # -- quarantine retry

    def quarantined(self):
        return {e["id"]: e for e in self.get("/v1/quarantine", admin=True)["quarantine"]}

    def test_retry_of_a_body_that_still_does_not_decode_keeps_it(self):
        wid = H.new_webhook_id()
        self.daemon.post_ok(self, b'{"id": 1, "updated_at": ', webhook_id=wid)
        entry = [e for e in self.quarantined().values() if e["webhook_id"] == wid][0]
        r = self.post_admin("/v1/quarantine/%d/retry" % entry["id"])
        self.assertEqual(r.status, 200, r)
        verdict = r.json()
        self.assertEqual(verdict["id"], entry["id"])
        self.assertEqual(verdict["outcome"], "quarantined")
        self.assertTrue(verdict["reason"])
        self.assertIn(entry["id"], self.quarantined())
        r = self.post_admin("/v1/quarantine/%d/retry" % (max(self.quarantined()) + 1000))
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()["error"]["code"], "not_found")

    def test_retry_applies_a_body_the_decoder_now_reads(self):
        # Decoding is a pure function of topic and body, so a body this binary quarantines it
        # also refuses on retry. What a retry is for is an entry an earlier version refused and
        # the running one reads (after an upgrade): such an entry is written into the store
        # here, as that earlier version would have left it.
        cid, oid, wid = nid(), nid(), H.new_webhook_id()
        body = H.dumps(H.order_payload(oid, 4321, now_iso(1), customer=H.customer_obj(cid)))
        db = sqlite3.connect(self.daemon.db_path, timeout=10)
        with db:
            cur = db.execute(
                "INSERT INTO quarantine(shop, webhook_id, topic, api_version, received_at_ms, reason, body) "
                "VALUES(?, ?, 'orders/create', '2025-01', ?, 'line_items[]: unknown field (older decoder)', ?)",
                (H.SHOP, wid, int(datetime.datetime.now().timestamp() * 1000), body.decode()))
            qid = cur.lastrowid
        db.close()
        self.assertEqual(self.daemon.customer(cid).status, 404)
        last = self.get("/v1/changes")["last_seq"]
        r = self.post_admin("/v1/quarantine/%d/retry" % qid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"id": qid, "outcome": "applied", "reason": None})
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "43.21")
        self.assertIn("first-time", c["segments"])
        self.assertNotIn(qid, self.quarantined())
        # Applied like a webhook: the change log names its webhook id.
        causes = {e["cause"] for e in self.get("/v1/changes?after=%d" % last)["changes"] if e["customer_id"] == cid}
        self.assertEqual(causes, {wid})
        self.assertEqual(self.post_admin("/v1/quarantine/%d/retry" % qid).status, 404)

    # -- export

    def test_export_holds_the_customers_orders(self):
        cid = nid()
        cu = H.customer_obj(cid, phone="+15550001111", tags="vip", updated_at=H.ts(2))
        self.daemon.post_ok(self, cu, topic="customers/create")
        o1, o2 = self.buy(cid, 1500, customer=cu, days_ago=3), self.buy(cid, 2500, customer=cu)
        rid = nid()
        self.daemon.post_ok(self, H.refund_payload(rid, o1, 500, now_iso(1)), topic="refunds/create")
        e = self.get("/v1/customers/%s/%d/export" % (H.SHOP, cid), admin=True)
        self.assertEqual((e["shop"], e["id"]), (H.SHOP, cid))
        self.assertEqual(e["customer"]["email"], cu["email"])
        self.assertIn("as_of", e["customer"])
        self.assertIn("updated_at", e["customer"])
        self.assertEqual([o["id"] for o in e["orders"]], [o1, o2])
        self.assertEqual([r["id"] for r in e["refunds"]], [rid])
        self.assertIn("repeat", e["segments"])
        self.assertTrue(any(ch["segment"] == "repeat" and ch["change"] == "joined" for ch in e["changes"]))
        for key in ("purchasing_summary", "data_requests", "raw_deliveries", "tag_events"):
            self.assertIn(key, e)
        self.get("/v1/customers/%s/%d/export" % (H.SHOP, nid()), admin=True, status=404)

    # -- health and metrics

    def test_health_reports_listeners_store_and_drift(self):
        h = self.get("/v1/health")
        self.assertEqual(h["status"], "ok")
        self.assertTrue(h["store"]["ok"])
        self.assertEqual(h["store"]["path"], self.daemon.db_path)
        self.assertGreater(h["store"]["size_bytes"], 0)
        self.assertEqual(h["listeners"]["webhook"], "%s:%d" % (self.daemon.host, self.daemon.port))
        self.assertEqual(h["listeners"]["query_socket"], self.daemon.query_sock)
        self.assertEqual(h["listeners"]["admin_socket"], self.daemon.admin_sock)
        self.assertEqual(h["queue_depth"], 0)
        self.assertEqual(h["lag_ms"], 0)
        self.assertEqual(h["silent_shops"], [])
        self.assertEqual(h["reload"], {"running": False})
        cid = nid()
        self.buy(cid, 1000)
        summary = {"customerId": "gid://shopify/Customer/%d" % cid, "numberOfOrders": 2,
                   "amountSpent": {"amount": "20.00", "currencyCode": "USD"}, "occurredAt": now_iso()}
        self.daemon.post_ok(self, summary, topic="customers/purchasing_summary")
        h = self.get("/v1/health")
        self.assertEqual(h["status"], "ok")  # drift is reported, not an outage
        self.assertIsNotNone(h["last_event_at"])
        drift = [d for d in h["drift"] if d["customer_id"] == cid]
        self.assertEqual(drift, [{"shop": H.SHOP, "customer_id": cid, "amount_spent": "10.00",
                                  "shopify_amount_spent": "20.00", "number_of_orders": 1,
                                  "shopify_number_of_orders": 2}])
        self.assertGreaterEqual(h["drift_count"], 1)
        self.buy(cid, 1000)  # now both say two orders and 20.00
        h = self.get("/v1/health")
        self.assertFalse([d for d in h["drift"] if d["customer_id"] == cid])

    def metric(self, text, name, **labels):
        """The sum of the samples of `name` whose labels include `labels`."""
        total = 0.0
        for line in text.splitlines():
            m = re.match(r"^([a-z_]+)(?:\{([^}]*)\})? (\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return total

    def test_metrics_families_move(self):
        r = self.daemon.query("/metrics")
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["content-type"].startswith("text/plain"), r.headers)
        before = r.body.decode()
        for family in ("shopseg_deliveries_total", "shopseg_hmac_failures_total", "shopseg_duplicates_total",
                       "shopseg_stale_payloads_total", "shopseg_quarantined_total", "shopseg_commit_duration_seconds",
                       "shopseg_batch_size", "shopseg_segment_members", "shopseg_queue_depth",
                       "shopseg_clock_evaluations_total", "shopseg_seconds_since_last_event",
                       "shopseg_drift_customers"):
            self.assertIn("# TYPE %s " % family, before)
        self.assertNotIn(H.SECRET_1, before)
        cid, oid = nid(), nid()
        body = H.order_payload(oid, 1000, now_iso(1), customer=H.customer_obj(cid))
        wid = H.new_webhook_id()
        self.daemon.post_ok(self, body, webhook_id=wid)
        self.daemon.post_ok(self, body, webhook_id=wid)  # a duplicate
        self.daemon.post_ok(self, b"{", webhook_id=H.new_webhook_id())  # quarantined
        self.assertEqual(self.daemon.post(body, secret="wrong").status, 401)
        after = self.daemon.query("/metrics").body.decode()

        def moved(name, by=1, **labels):
            self.assertEqual(self.metric(after, name, **labels) - self.metric(before, name, **labels), by,
                             (name, labels))

        moved("shopseg_deliveries_total", topic="orders/create", outcome="applied")
        moved("shopseg_deliveries_total", topic="orders/create", outcome="duplicate")
        moved("shopseg_deliveries_total", topic="orders/create", outcome="quarantined")
        moved("shopseg_hmac_failures_total")
        moved("shopseg_duplicates_total")
        moved("shopseg_quarantined_total")
        self.assertGreaterEqual(self.metric(after, "shopseg_commit_duration_seconds_count")
                                - self.metric(before, "shopseg_commit_duration_seconds_count"), 2)
        self.assertGreater(self.metric(after, "shopseg_segment_members", segment="first-time", shop=H.SHOP), 0)
        self.assertRegex(after, r'shopseg_seconds_since_last_event\{shop="%s"\} ' % re.escape(H.SHOP))

    # -- rights

    def test_admin_routes_are_refused_on_the_query_socket(self):
        for method, target in (("GET", "/v1/quarantine"), ("POST", "/v1/quarantine/1/retry"),
                               ("GET", "/v1/customers/%s/1/export" % H.SHOP), ("POST", "/v1/reload")):
            r = H.unix_request(self.daemon.query_sock, method, target)
            self.assertEqual(r.status, 403, (method, target, r))
            self.assertEqual(r.json()["error"]["code"], "forbidden")


class Silence(H.DaemonTestCase):
    """A shop that had traffic and has been quiet longer than its silence_alert_minutes."""

    daemon_kwargs = {"extra_config": "silence_alert_minutes = 30\n"}

    def test_a_silent_shop_degrades_health(self):
        d = self.daemon
        d.post_ok(self, H.order_payload(nid(), 100, now_iso(1), customer=H.customer_obj(nid())))
        d.post_ok(self, H.order_payload(nid(), 100, now_iso(1), customer=H.customer_obj(nid())),
                  shop=H.OTHER_SHOP)  # not configured: no alert for it
        r = d.query("/v1/health")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["silent_shops"], [])
        d.stop()
        d.env["SHOPSEGD_TEST_CLOCK_OFFSET_MS"] = str(45 * 60 * 1000)
        d.start()
        r = d.query("/v1/health")
        self.assertEqual(r.status, 503, r)
        h = r.json()
        self.assertEqual(h["status"], "degraded")
        self.assertEqual([s["shop"] for s in h["silent_shops"]], [H.SHOP])
        self.assertGreaterEqual(h["silent_shops"][0]["silent_minutes"], 45)
        m = d.query("/metrics").body.decode()
        line = re.search(r'shopseg_seconds_since_last_event\{shop="%s"\} (\S+)' % re.escape(H.SHOP), m)
        self.assertIsNotNone(line, m)
        self.assertGreaterEqual(float(line.group(1)), 45 * 60)


if __name__ == "__main__":
    H.main()

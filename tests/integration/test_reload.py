"""Reload through the real daemon: SIGHUP and POST /v1/reload recompute every membership with
cause "reload"; an invalid config is refused with its errors and the running one stays (the
daemon keeps serving); a restart with changed segments recomputes before it is ready; webhooks
that arrive while a reload runs end with exactly the new definitions' memberships."""

import bisect
import datetime
import importlib.util
import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

import harness as H

BASE = """
[[segment]]
name = "repeat"
query = "number_of_orders >= 2"
"""
BIGGER = BASE + """
[[segment]]
name = "big"
query = "amount_spent > 100"
[segment.service]
priority = "high"
"""
BROKEN = BASE + """
[[segment]]
name = "broken"
query = "amount_spnt > 100"
"""


def nid():
    return random.randrange(2**53, 2**63)


def iso_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class Reload(unittest.TestCase):

    def setUp(self):
        self.d = H.Daemon(extra_config=BASE)
        self.d.start()

    def tearDown(self):
        self.d.cleanup()

    def set_segments(self, text):
        self.d.extra_config = text
        self.d._write_config()

    def buy(self, cents):
        cid = nid()
        self.d.post_ok(self, H.order_payload(nid(), cents, iso_now(), customer=H.customer_obj(cid)))
        return cid

    def wait_for(self, predicate, what):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail("timed out waiting for " + what)

    def segments(self, cid):
        return self.d.customer(cid).json()["segments"]

    def test_sighup_recomputes_every_customer_with_cause_reload(self):
        rich, poor = self.buy(50000), self.buy(500)
        before = self.d.query("/v1/changes").json()["last_seq"]
        self.set_segments(BIGGER)
        self.d.proc.send_signal(signal.SIGHUP)
        self.wait_for(lambda: self.segments(rich) == ["big"], "the reload")
        self.assertEqual(self.segments(poor), [])
        c = self.d.customer(rich).json()
        self.assertEqual(c["service"]["priority"], "high")
        changes = self.d.query("/v1/changes?after=%d" % before).json()["changes"]
        self.assertEqual([(e["customer_id"], e["segment"], e["change"], e["cause"]) for e in changes],
                         [(rich, "big", "joined", "reload")])

    def test_invalid_config_is_refused_and_the_running_one_stays(self):
        cid = self.buy(50000)
        self.buy(100)
        self.set_segments(BROKEN)
        self.d.proc.send_signal(signal.SIGHUP)
        self.wait_for(lambda: "reload refused" in self.d.stderr_text(), "the refusal in the log")
        self.assertIn("amount_spnt", self.d.stderr_text())
        # still serving, with the old segments, and still ingesting
        self.d.post_ok(self, H.order_payload(nid(), 100, iso_now(), customer=H.customer_obj(cid)))
        self.assertEqual(self.segments(cid), ["repeat"])

    def test_reload_route_on_the_admin_socket(self):
        cid = self.buy(50000)
        self.set_segments(BROKEN)
        r = H.unix_request(self.d.admin_sock, "POST", "/v1/reload")
        self.assertEqual(r.status, 422, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "invalid_config")
        self.assertTrue(any(":" in e and "amount_spnt" in e for e in err["errors"]), err)
        r = H.unix_request(self.d.query_sock, "POST", "/v1/reload")
        self.assertEqual(r.status, 403, r)
        self.set_segments(BIGGER)
        r = H.unix_request(self.d.admin_sock, "POST", "/v1/reload")
        self.assertEqual(r.status, 202, r)
        self.wait_for(lambda: self.segments(cid) == ["big"], "the reload")

    def test_restart_with_changed_segments_recomputes_before_ready(self):
        cid = self.buy(50000)
        self.d.stop()
        self.set_segments(BIGGER)
        self.d.start()
        self.assertEqual(self.segments(cid), ["big"])  # no waiting: done before READY


_spec = importlib.util.spec_from_file_location(
    "gen_bulk_jsonl", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                                   "gen_bulk_jsonl.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

UNDER_WEBHOOKS = """
[[segment]]
name = "big"
query = "amount_spent > 2000"

[[segment]]
name = "repeat"
query = "number_of_orders >= 2"

[[segment]]
name = "top"
query = "amount_spent_percentile >= 80"
"""


class ReloadUnderWebhooks(unittest.TestCase):
    """A reload of many customers while webhooks change their spends (and so the percentile
    boundary), add customers and delete some: afterwards every membership is the new
    definitions' answer for the final state, and the change log replays to it."""

    CUSTOMERS = 20000
    FIRST = 7_000_000_000_000  # gen_bulk_jsonl's first customer id

    def setUp(self):
        self.d = H.Daemon()
        self.d.start()

    def tearDown(self):
        self.d.cleanup()

    def import_customers(self):
        path = os.path.join(self.d.dir, "bulk.jsonl")
        with open(path, "w") as f:
            gen.generate(f, customers=self.CUSTOMERS, orders=self.CUSTOMERS, seed=7)
        p = subprocess.run([H.SHOPSEG, "--admin-socket", self.d.admin_sock, "import", "--shop", H.SHOP, path],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        spend, orders = {}, {}
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if "__parentId" not in rec:
                    continue
                cid = int(rec["__parentId"].rsplit("/", 1)[1])
                amount = rec["currentTotalPriceSet"]["shopMoney"]["amount"]
                whole, _, frac = amount.partition(".")
                spend[cid] = spend.get(cid, 0) + int(whole) * 100 + int((frac + "00")[:2])
                orders[cid] = orders.get(cid, 0) + 1
        return spend, orders

    def reload_running(self):
        return self.d.query("/v1/health").json()["reload"]["running"]

    SENDERS = 4

    def send_webhooks(self, sender, spend, orders, lock, stop, log):
        """Orders for imported customers (each sender its own share of them, so that the model
        sees each customer's deliveries in the order the daemon applied them) and for new ones,
        and a few deletions."""
        rng = random.Random(11 + sender)
        mine = lambda: self.FIRST + rng.randrange(self.CUSTOMERS // self.SENDERS) * self.SENDERS + sender
        while not stop.is_set():
            kind = rng.random()
            if kind < 0.03:
                cid = mine()
                r = self.d.post({"id": cid}, topic="customers/delete")
                with lock:
                    spend.pop(cid, None), orders.pop(cid, None)
            else:
                cid = mine() if kind < 0.9 else nid()
                cents = rng.randrange(100, 600000)
                r = self.d.post(H.order_payload(nid(), cents, iso_now(), customer=H.customer_obj(cid)))
                with lock:
                    if cid in spend or cid >= 2**53:  # a deleted customer's orders are ignored
                        spend[cid] = spend.get(cid, 0) + cents
                        orders[cid] = orders.get(cid, 0) + 1
            log.append((r.status, self.reload_running()))

    def members(self, segment):
        out, after = set(), None
        while True:
            q = {"limit": "1000"}
            if after:
                q["after"] = after
            page = self.d.query("/v1/segments/%s/members?%s" % (segment, urllib.parse.urlencode(q))).json()
            out.update(m["id"] for m in page["members"])
            if page["next"] is None:
                return out
            after = page["next"]

    def replayed_changes(self):
        state, after = {}, 0
        while True:
            page = self.d.query("/v1/changes?after=%d&limit=10000" % after).json()["changes"]
            if not page:
                return state
            for e in page:
                key = (e["customer_id"], e["segment"])
                joined = e["change"] == "joined"
                self.assertNotEqual(state.get(key, False), joined, "logged twice: %r" % e)
                state[key] = joined
            after = page[-1]["seq"]

    def test_webhooks_during_a_reload_end_with_the_new_memberships(self):
        spend, orders = self.import_customers()
        self.d.extra_config = UNDER_WEBHOOKS
        self.d._write_config()
        stop, log, lock = threading.Event(), [], threading.Lock()
        senders = [threading.Thread(target=self.send_webhooks, args=(i, spend, orders, lock, stop, log))
                   for i in range(self.SENDERS)]
        for t in senders:
            t.start()
        try:
            while len(log) < 20:
                time.sleep(0.01)
            done = self.d.stderr_text().count("reload: done")
            r = H.unix_request(self.d.admin_sock, "POST", "/v1/reload")
            self.assertEqual(r.status, 202, r)
            deadline = time.monotonic() + 120
            while self.d.stderr_text().count("reload: done") == done and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertFalse(self.reload_running(), "the reload did not end")
            mark = len(log)
            while len(log) < mark + 20 and all(t.is_alive() for t in senders):
                time.sleep(0.01)
        finally:
            stop.set()
            for t in senders:
                t.join()
        buyers = sorted(s for cid, s in spend.items() if orders.get(cid))
        self.assertEqual({status for status, _ in log}, {200})
        during = sum(1 for _, running in log if running)
        expected = {
            "big": {cid for cid, s in spend.items() if s > 200000},
            "repeat": {cid for cid, n in orders.items() if n >= 2},
            # amount_spent_percentile: 100 x the buyers who spent less / the buyers
            "top": {cid for cid, s in spend.items() if orders.get(cid) and
                    100 * bisect.bisect_left(buyers, s) >= 80 * len(buyers)},
        }
        for segment, want in expected.items():
            got = self.members(segment)
            self.assertEqual(len(got ^ want), 0, "%s: %d extra, %d missing (of %d); webhooks during the "
                             "reload: %d" % (segment, len(got - want), len(want - got), len(want), during))
        logged = self.replayed_changes()
        for segment, want in expected.items():
            self.assertEqual({cid for (cid, s), on in logged.items() if s == segment and on}, want, segment)


if __name__ == "__main__":
    H.main()

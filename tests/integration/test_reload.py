"""Reload through the real daemon: SIGHUP and POST /v1/reload recompute every membership with
cause "reload"; an invalid config is refused with its errors and the running one stays (the
daemon keeps serving); a restart with changed segments recomputes before it is ready."""

import datetime
import random
import signal
import time
import unittest

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


if __name__ == "__main__":
    H.main()

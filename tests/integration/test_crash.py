"""Crash test (SPEC §8): client threads post distinct orders as fast as they can, the daemon is
killed with SIGKILL at a random moment, restarted on the same database, and every delivery that
was answered 200 must be there."""

import http.client
import os
import random
import threading
import time
import unittest

import harness as H
from harness import SHOP

THREADS = 4
CYCLES = int(os.environ.get("SHOPSEG_CRASH_CYCLES", "3"))


class Poster(threading.Thread):
    def __init__(self, daemon, base_id, customer_id, stop):
        super().__init__(daemon=True)
        self.d = daemon
        self.next_id = base_id
        self.customer_id = customer_id
        self.stop_event = stop
        self.acked = []      # (order id, cents)
        self.sent = 0
        self.other = {}      # status -> count
        self.error = None

    def run(self):
        conn = None
        rng = random.Random(self.next_id)
        cust = H.customer_obj(self.customer_id)
        failures = 0
        while not self.stop_event.is_set():
            oid = self.next_id
            self.next_id += 1
            cents = rng.randrange(1, 100000)
            body = H.dumps(H.order_payload(oid, cents, H.ts(5 + oid % 20), customer=cust))
            h = H.webhook_headers(body)
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
                self.sent += 1
                conn.request("POST", "/webhooks", body, h)
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                # the daemon died under us (expected), or closed this connection
                if conn is not None:
                    conn.close()
                conn = None
                failures += 1
                if failures > 100:
                    break
                time.sleep(0.01)
                continue
            if r.status == 200:
                self.acked.append((oid, cents))
            else:
                self.other[r.status] = self.other.get(r.status, 0) + 1
                if (r.getheader("connection") or "").lower() == "close":
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()


class Crash(unittest.TestCase):

    def test_kill9_keeps_every_acknowledged_delivery(self):
        seed = int(os.environ.get("SHOPSEG_SEED", random.randrange(1, 2**31)))
        print("\ncrash test seed=%d (rerun: SHOPSEG_SEED=%d)" % (seed, seed), flush=True)
        rng = random.Random(seed)
        d = H.Daemon()
        try:
            acked_all = []           # (order id, cents, customer id)
            base = rng.randrange(2**53, 2**62)
            customers = {}           # customer id -> (acked count, acked cents)
            for cycle in range(CYCLES):
                d.start()
                # everything acknowledged in earlier cycles survived the earlier kills
                self.check(d, acked_all, customers, "start of cycle %d" % cycle)
                stop = threading.Event()
                posters = []
                for t in range(THREADS):
                    cid = base + 10**7 * (cycle * THREADS + t + 1)
                    p = Poster(d, cid + 1, cid, stop)
                    posters.append(p)
                    p.start()
                # wait for some acks, then a random extra moment
                deadline = time.monotonic() + 60
                while sum(len(p.acked) for p in posters) < 20 and time.monotonic() < deadline:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 1.5))
                d.kill()
                stop.set()
                for p in posters:
                    p.join(60)
                    self.assertFalse(p.is_alive(), "poster hung after the daemon was killed")
                    self.assertIsNone(p.error, "poster failed: %r" % (p.error,))
                n = sum(len(p.acked) for p in posters)
                print("cycle %d: sent %d, acked %d, other answers %s"
                      % (cycle, sum(p.sent for p in posters), n,
                         [p.other for p in posters]), flush=True)
                self.assertGreater(n, 0, "no delivery was acknowledged before the kill")
                for p in posters:
                    customers[p.customer_id] = (len(p.acked), sum(c for _, c in p.acked),
                                                p.sent)
                    acked_all.extend((oid, c, p.customer_id) for oid, c in p.acked)
            d.start()
            self.check(d, acked_all, customers, "final restart")
            # the daemon still takes deliveries after all this
            o = H.order_payload(base + 5, 100, H.ts(5), customer=H.customer_obj(base))
            d.post_ok(self, o)
            self.assertEqual(d.customer(base).status, 200)
        finally:
            d.cleanup()

    def check(self, d, acked, customers, when):
        missing = []
        for oid, cents, cid in acked:
            r = d.order(oid)
            if r.status != 200:
                missing.append((oid, r.status))
                continue
            o = r.json()
            self.assertEqual(o["id"], oid, when)
            self.assertEqual(o["amount"], H.money(cents), "%s order %d" % (when, oid))
            self.assertEqual(o["customer_id"], cid, when)
        self.assertEqual(missing, [], "%s: %d acknowledged orders lost (of %d)"
                         % (when, len(missing), len(acked)))
        for cid, (n, total, sent) in customers.items():
            r = d.customer(cid)
            self.assertEqual(r.status, 200, "%s customer %d: %r" % (when, cid, r))
            c = r.json()
            # every acked order counts; an unacknowledged one may or may not have committed
            self.assertGreaterEqual(c["number_of_orders"], n, "%s customer %d" % (when, cid))
            self.assertLessEqual(c["number_of_orders"], sent, "%s customer %d" % (when, cid))


if __name__ == "__main__":
    H.main()

"""Crash cycles (SPEC §8): client threads post random delivery streams (new orders, duplicates,
updates, refunds, cancellations, deletes, customer updates; the generator of
test_reference_model.py) at full speed while the daemon is killed with SIGKILL at random moments
and restarted on the same database. Like Shopify, a client re-sends only what got no answer
(a connection error or a 503) and sends nothing new before that is answered. At the end every
acknowledged delivery must be there, and aggregates, tiers and segments must equal a replay of
the acknowledged deliveries into the reference model.

CI runs a few cycles; the long run: SHOPSEG_CRASH_CYCLES=200 (see README, Tests)."""

import http.client
import os
import random
import threading
import time
import unittest

import harness as H
import test_reference_model as RM
from model import Model

THREADS = 4
CYCLES = int(os.environ.get("SHOPSEG_CRASH_CYCLES", "5"))


class Poster(threading.Thread):
    """Delivers one world's stream in order; each delivery is retried until answered 200.

    Each thread has its own world (disjoint customers and orders), so the streams commute and
    the model can replay them one after the other."""

    def __init__(self, d, world, stop):
        super().__init__(daemon=True)
        self.d = d
        self.world = world
        self.stop_event = stop
        self.acked = []          # (webhook id, topic, payload) in the order they were answered
        self.attempts = 0
        self.resent = 0          # deliveries sent again after getting no answer
        self.statuses = {}       # status other than 200 -> count
        self.error = None

    def run(self):
        try:
            self._run()
        except Exception as e:  # reported by the test
            self.error = e

    def _run(self):
        conn = None
        pending = None
        while not self.stop_event.is_set():
            if pending is None:
                pending = self.world.generate()
                tries = 0
            wid, topic, payload = pending
            body = H.dumps(payload)
            host, port = self.d.host, self.d.port
            if port is None:
                time.sleep(0.005)
                continue
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=30)
                tries += 1
                if tries > 1:
                    self.resent += 1
                self.attempts += 1
                conn.request("POST", "/webhooks", body,
                             H.webhook_headers(body, topic=topic, webhook_id=wid))
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                # the daemon died under us: no answer, so the same delivery goes again
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.005)
                continue
            if r.status == 200:
                self.acked.append(pending)
                self.world.sent.append(pending)
                pending = None
                continue
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            if r.status != 503:
                raise AssertionError("%s %s answered %d: %r" % (topic, wid, r.status,
                                                                 r.read()))
            if (r.getheader("connection") or "").lower() == "close":
                conn.close()
                conn = None
            time.sleep(0.01)
        if conn is not None:
            conn.close()


class CrashCycles(unittest.TestCase):

    def test_kill9_cycles_match_the_reference_model(self):
        seed = int(os.environ.get("SHOPSEG_SEED", random.randrange(1, 2**31)))
        print("\ncrash cycles seed=%d cycles=%d (rerun: SHOPSEG_SEED=%d)" % (seed, CYCLES, seed),
              flush=True)
        rng = random.Random(seed)
        worlds = [RM.World(random.Random(seed * 1000 + t)) for t in range(THREADS)]
        d = H.Daemon(extra_config=RM.SEGMENTS_TOML)
        stop = threading.Event()
        posters = [Poster(d, w, stop) for w in worlds]
        try:
            d.start()
            for p in posters:
                p.start()
            for cycle in range(CYCLES):
                before = sum(len(p.acked) for p in posters)
                # a few acknowledgements in this run, then a random moment
                deadline = time.monotonic() + 60
                while sum(len(p.acked) for p in posters) < before + 5 and \
                        time.monotonic() < deadline:
                    time.sleep(0.002)
                time.sleep(rng.uniform(0.0, 0.5))
                d.kill()
                for p in posters:
                    self.assertIsNone(p.error, "poster failed: %r" % (p.error,))
                after = sum(len(p.acked) for p in posters)
                print("cycle %d: acked %d (total %d), re-send attempts so far %d"
                      % (cycle, after - before, after, sum(p.resent for p in posters)),
                      flush=True)
                self.assertGreater(after, before, "nothing acknowledged in cycle %d" % cycle)
                time.sleep(rng.uniform(0.0, 0.05))
                d.start()
            # let every poster get its pending delivery answered, then stop them
            time.sleep(0.3)
            stop.set()
            for p in posters:
                p.join(60)
                self.assertFalse(p.is_alive(), "poster hung")
                self.assertIsNone(p.error, "poster failed: %r" % (p.error,))
            print("total: %d attempts, %d acknowledged, %d re-send attempts, other answers %s"
                  % (sum(p.attempts for p in posters), sum(len(p.acked) for p in posters),
                     sum(p.resent for p in posters), [p.statuses for p in posters]), flush=True)
            model = Model()
            for p in posters:
                for wid, topic, payload in p.acked:
                    model.apply(wid, topic, payload)
            check = RM.ReferenceModel.compare
            for w in worlds:
                check(self, d, w, model, seed, "after %d kill -9 cycles" % CYCLES)
            d.restart()
            for w in worlds:
                check(self, d, w, model, seed, "after a clean restart")
        finally:
            stop.set()
            d.cleanup()


if __name__ == "__main__":
    H.main()

"""Hostile clients (SPEC §8): slow-loris, thousands of idle connections, pipelined garbage,
oversized heads and bodies, invalid UTF-8, huge numbers and deep nesting in signed bodies, and a
flood beyond the queue. Throughout, verified deliveries keep being answered, the daemon's peak
RSS (VmHWM) stays under RSS_BOUND_MB, overload gets 503 with Retry-After, and every delivery
answered 200 is stored.

The test raises its own RLIMIT_NOFILE soft limit to the hard limit (the daemon inherits it)."""

import os
import resource
import socket
import threading
import time
import unittest

import harness as H
from harness import SHOP

RSS_BOUND_MB = 256
READ_TIMEOUT = 2
IDLE_CONNECTIONS = 2000
MAX_BODY = 1 << 20  # room for 100,000 levels of nesting


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmHWM in /proc/%d/status" % pid)


class HostileDaemon(H.Daemon):
    """A daemon with [webhook] keys of the test (small timeouts, queue, limits)."""

    def __init__(self, webhook_keys, **kw):
        self.webhook_keys = webhook_keys
        super().__init__(**kw)

    def _write_config(self):
        super()._write_config()
        with open(self.config_path) as f:
            cfg = f.read()
        extra = "".join("%s = %s\n" % kv for kv in self.webhook_keys.items())
        with open(self.config_path, "w") as f:
            f.write(cfg.replace("[webhook]\n", "[webhook]\n" + extra, 1))


def connect(d, timeout=30):
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    return s


def read_until_closed(s, limit=1 << 20):
    """Everything the daemon sends until it closes (a reset counts as closed)."""
    out = b""
    try:
        while len(out) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    return out


def raw_request(body, topic="orders/create", webhook_id=None, extra_headers=b""):
    h = H.webhook_headers(body, topic=topic, webhook_id=webhook_id)
    head = "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    head += "".join("%s: %s\r\n" % kv for kv in h.items())
    return head.encode() + extra_headers + b"\r\n" + body


def statuses(data):
    return [int(line.split()[1]) for line in data.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


class Hostile(unittest.TestCase):
    daemon = None

    @classmethod
    def setUpClass(cls):
        cls.fd_limit = raise_fd_limit()
        cls.daemon = HostileDaemon({"read_timeout_seconds": READ_TIMEOUT,
                                    "idle_timeout_seconds": READ_TIMEOUT,
                                    "write_timeout_seconds": 5,
                                    "max_header_bytes": 4096,
                                    "max_connections": 20000},
                                   max_body_bytes=MAX_BODY)
        try:
            cls.daemon.start()
        except Exception:
            cls.daemon.cleanup()
            raise
        cls.next_oid = [7 * 10**15]
        cls.acked = []   # (order id, cents) answered 200

    @classmethod
    def tearDownClass(cls):
        cls.daemon.cleanup()

    def tearDown(self):
        self.assertIsNone(self.daemon.proc.poll(), "the daemon died:\n%s"
                          % self.daemon.stderr_text()[-3000:])

    def verified(self, n=5):
        """Posts n verified deliveries on fresh connections; each must be answered 200."""
        d = self.daemon
        for _ in range(n):
            self.next_oid[0] += 1
            oid = self.next_oid[0]
            cents = oid % 100000 + 1
            body = H.dumps(H.order_payload(oid, cents, H.ts(5),
                                           customer=H.customer_obj(oid + 1)))
            d.post_ok(self, body)
            self.acked.append((oid, cents))

    def assert_acked_stored(self):
        for oid, cents in self.acked:
            r = self.daemon.order(oid)
            self.assertEqual(r.status, 200, "acknowledged order %d lost: %r" % (oid, r))
            self.assertEqual(r.json()["amount"], H.money(cents))

    def dribble(self, prefix, data, result):
        """Sends prefix, then data one byte every 50 ms until the daemon cuts the connection."""
        s = connect(self.daemon)
        try:
            s.sendall(prefix)
            for i in range(len(data)):
                s.sendall(data[i:i + 1])
                time.sleep(0.05)
            result["completed"] = True
        except OSError:
            result["cut"] = True
        finally:
            s.close()

    def test_slow_loris_is_cut_while_verified_traffic_is_answered(self):
        body = H.dumps(H.order_payload(1, 100, H.ts(5)))
        req = raw_request(body)
        head, _, _ = req.partition(b"\r\n\r\n")
        head += b"\r\n\r\n"
        # 50 ms per byte: the head (or body) would need far more than the read timeout
        body = body * (1 + (20 * 5 * READ_TIMEOUT) // len(body))
        req_long_body = raw_request(body)
        cases = {"head": (b"", head * 4), "body": (req_long_body[:len(req_long_body) - len(body)],
                                                   body)}
        results = {k: {} for k in cases}
        threads = [threading.Thread(target=self.dribble, args=(p, data, results[k]))
                   for k, (p, data) in cases.items()]
        for t in threads:
            t.start()
        while any(t.is_alive() for t in threads):
            self.verified(2)
            time.sleep(0.1)
        for k, r in results.items():
            self.assertTrue(r.get("cut"), "slow %s was not cut off: %r" % (k, r))
        self.assert_acked_stored()

    def test_idle_connections_while_verified_traffic_is_answered(self):
        n = min(IDLE_CONNECTIONS, self.fd_limit - 200)
        self.assertGreaterEqual(n, 500, "descriptor limit %d too low" % self.fd_limit)
        socks = []
        try:
            for _ in range(n):
                socks.append(connect(self.daemon))
            self.verified(20)
            # the idle ones are still open (the daemon accepted them: none got a close yet)
            for s in socks[:50]:
                s.setblocking(False)
                with self.assertRaises(BlockingIOError):
                    s.recv(1)
            rss = peak_rss_mb(self.daemon.proc.pid)
            print("\n%d idle connections: peak RSS %.1f MB" % (n, rss), flush=True)
            self.assertLess(rss, RSS_BOUND_MB)
            # ... and the read timeout closes them: the descriptors come back
            for s in socks[:50]:
                s.settimeout(30)
                self.assertEqual(read_until_closed(s), b"")
        finally:
            for s in socks:
                s.close()
        self.verified(5)
        self.assert_acked_stored()

    def test_pipelined_garbage(self):
        oid = 8 * 10**15 + 1
        good = raw_request(H.dumps(H.order_payload(oid, 4200, H.ts(5))))
        for garbage in (b"\x00\xff\xfe garbage \r\n\r\n" * 100,
                        b"GET / HTTP/9.9\r\n\r\n" * 50,
                        b"POST /webhooks HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                        b"POST /webhooks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                        os.urandom(20000)):
            s = connect(self.daemon)
            try:
                s.sendall(good + garbage)
                s.shutdown(socket.SHUT_WR)
                got = statuses(read_until_closed(s))
            except (BrokenPipeError, ConnectionResetError):
                got = None
            finally:
                s.close()
            self.assertTrue(got, "no answer to the good request before %r" % garbage[:40])
            self.assertEqual(got[0], 200, garbage[:40])
            self.assertTrue(all(st >= 400 for st in got[1:]), (got, garbage[:40]))
            self.verified(1)
        self.assertEqual(self.daemon.order(oid).status, 200)
        # garbage alone
        for garbage in (b"\r\n" * 10000, os.urandom(50000), b"\x16\x03\x01\x02\x00\x01\x00"):
            s = connect(self.daemon)
            try:
                s.sendall(garbage)
                got = statuses(read_until_closed(s))
            except (BrokenPipeError, ConnectionResetError):
                got = []
            finally:
                s.close()
            self.assertTrue(all(st >= 400 for st in got), got)
        self.verified(2)

    def test_oversized_head_and_body(self):
        body = H.dumps(H.order_payload(8 * 10**15 + 2, 100, H.ts(5)))
        req = raw_request(body, extra_headers=b"X-Pad: " + b"a" * 8000 + b"\r\n")
        s = connect(self.daemon)
        try:
            s.sendall(req)
            got = statuses(read_until_closed(s))
        finally:
            s.close()
        self.assertEqual(got, [431])
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(2000))
        s = connect(self.daemon)
        try:
            s.sendall(raw_request(body, extra_headers=many))
            got = statuses(read_until_closed(s))
        except (BrokenPipeError, ConnectionResetError):
            got = [431]  # answered and closed while we were still writing
        finally:
            s.close()
        self.assertEqual(got, [431])
        big = b"[" + b"0," * (MAX_BODY // 2) + b"0]"
        r = self.daemon.post(big)
        self.assertEqual(r.status, 413)
        # chunked, no Content-Length: the limit still applies while reading
        s = connect(self.daemon)
        try:
            h = H.webhook_headers(big)
            head = "POST /webhooks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "\r\n"
            s.sendall(head.encode())
            for i in range(0, len(big), 8192):
                part = big[i:i + 8192]
                s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            s.sendall(b"0\r\n\r\n")
            got = statuses(read_until_closed(s))
        except (BrokenPipeError, ConnectionResetError):
            got = [413]
        finally:
            s.close()
        self.assertEqual(got, [413])
        self.verified(2)

    def quarantined_ids(self):
        r = self.daemon.quarantine()
        self.assertEqual(r.status, 200, r)
        return {e["webhook_id"] for e in r.json()["quarantine"]}

    def post_signed(self, body, topic="orders/create"):
        wid = H.new_webhook_id()
        r = self.daemon.post(body, topic=topic, webhook_id=wid)
        return wid, r

    def test_strange_json_is_quarantined_or_decoded_never_a_crash(self):
        def order(oid, **kw):
            return H.dumps(H.order_payload(oid, 1234, H.ts(5), customer=H.customer_obj(oid + 1)))

        def with_id(new_id):
            return lambda oid: order(oid).replace(b'"id":%d' % oid, b'"id":' + new_id, 1)

        deep = b"[" * 100000 + b"]" * 100000
        # name -> (body of a fresh order id, the order id it decodes to if applied)
        name_utf8 = "Zo\u00eb \U0001f3c1 \u0416".encode()
        cases = {
            # valid for contrast: must be applied, the name exact
            "valid utf-8 and escapes": lambda oid: order(oid).replace(
                b'"Ann"', b'"' + name_utf8[:4] + b'\\u0020' + name_utf8[5:] + b'"'),
            "invalid utf-8 in a name": lambda oid: order(oid).replace(b'"Ann"', b'"A\xff\xfe\xc0n"'),
            "lone surrogate escape": lambda oid: order(oid).replace(b'"Ann"', b'"A\\ud800n"'),
            "nul byte in a name": lambda oid: order(oid).replace(b'"Ann"', b'"A\x00n"'),
            "id 2^63": with_id(b"%d" % 2**63),
            "id 2^64-1": with_id(b"%d" % (2**64 - 1)),
            "id beyond 2^64": with_id(b"%d" % (2**64 + 5)),
            "id of 400 digits": with_id(b"9" * 400),
            "id as a float": with_id(b"1.5e3"),
            "amount of 400 digits": lambda oid: order(oid).replace(
                b'"12.34"', b'"' + b"9" * 400 + b'.00"'),
            "amount as a huge number": lambda oid: order(oid).replace(b'"12.34"', b"1e400"),
            "nested 100000 deep": lambda oid: deep,
            "nested objects": lambda oid: b'{"a":' * 100000 + b"1" + b"}" * 100000,
            "deep inside an order": lambda oid: order(oid)[:-1] + b',"x":' + deep + b"}",
            "truncated": lambda oid: order(oid)[:len(order(oid)) // 2],
        }
        decoded_id = {"id 2^63": 2**63, "id 2^64-1": 2**64 - 1}  # exact when applied
        oid = 8 * 10**15 + 100
        outcomes = {}
        for name, make in cases.items():
            for topic in ("orders/create", "customers/update", "refunds/create"):
                oid += 10
                body = make(oid)
                with self.subTest(name=name, topic=topic):
                    wid, r = self.post_signed(body, topic)
                    self.assertIsNone(self.daemon.proc.poll(), "crashed on %s" % name)
                    self.assertEqual(r.status, 200, "%s: %r" % (name, r))
                    if wid in self.quarantined_ids():
                        outcomes.setdefault("quarantined", []).append((name, topic))
                        continue
                    outcomes.setdefault("applied", []).append((name, topic))
                    # not quarantined: then it was decoded correctly
                    if topic == "orders/create":
                        o = self.daemon.order(decoded_id.get(name, oid))
                        self.assertEqual(o.status, 200, "%s: neither quarantined nor applied"
                                         % name)
                        want = "9" * 400 + ".00" if "400 digits" in name else "12.34"
                        self.assertEqual(o.json()["amount"], want, name)
                    elif topic == "customers/update":
                        c = self.daemon.customer(decoded_id.get(name, oid))
                        self.assertEqual(c.status, 200, name)
                    # refunds/create of an order's body: no refund in it, nothing to check
            self.verified(1)
        self.assertIn(("valid utf-8 and escapes", "orders/create"), outcomes.get("applied", []))
        c = self.daemon.customer(8 * 10**15 + 100 + 10 + 1)
        self.assertEqual(c.status, 200, c)
        self.assertEqual(c.json()["first_name"], name_utf8.decode())
        print("\n" + "\n".join("%s: %s" % kv for kv in outcomes.items()), flush=True)
        self.assert_acked_stored()


class Flood(unittest.TestCase):
    """Many connections posting at once against a tiny queue: fast 503s, nothing acked lost."""

    def test_flood_beyond_capacity(self):
        fd_limit = raise_fd_limit()
        d = HostileDaemon({"max_queue": 1, "read_timeout_seconds": 10,
                           "max_connections": 20000})
        try:
            d.start()
            conns = min(1000, fd_limit - 200)
            base = 9 * 10**15
            reqs = []
            for i in range(conns):
                oid = base + i
                body = H.dumps(H.order_payload(oid, 100 + i, H.ts(5),
                                               customer=H.customer_obj(base + 10**6 + i % 50)))
                reqs.append((oid, 100 + i, raw_request(body)))
            socks = [connect(d) for _ in range(conns)]
            # every request is written before any answer is read: they arrive together
            for s, (_, _, req) in zip(socks, reqs):
                s.sendall(req)
            answers = {}
            retry_after_missing = 0
            for s, (oid, cents, _) in zip(socks, reqs):
                s.settimeout(60)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = s.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                except (ConnectionResetError, socket.timeout):
                    pass
                s.close()
                st = statuses(data)
                answers[oid] = (st[0] if st else None, cents)
                if st and st[0] == 503 and b"\r\nretry-after: " not in data.lower():
                    retry_after_missing += 1
            rss = peak_rss_mb(d.proc.pid)
            counts = {}
            for st, _ in answers.values():
                counts[st] = counts.get(st, 0) + 1
            print("\nflood of %d connections, max_queue 1: answers %s, peak RSS %.1f MB"
                  % (conns, counts, rss), flush=True)
            self.assertLess(rss, RSS_BOUND_MB)
            self.assertEqual(set(counts) - {200, 503}, set(), counts)
            self.assertGreater(counts.get(503, 0), 0, "the queue never overflowed")
            self.assertEqual(retry_after_missing, 0, "503 without Retry-After")
            # verified traffic is answered again once the flood has passed
            one = H.dumps(H.order_payload(base - 1, 500, H.ts(5)))
            for _ in range(100):
                r = d.post(one)
                if r.status == 200:
                    break
                time.sleep(0.05)
            self.assertEqual(r.status, 200)
            d.restart()
            for oid, (st, cents) in answers.items():
                r = d.order(oid)
                if st == 200:
                    self.assertEqual(r.status, 200, "acknowledged order %d lost" % oid)
                    self.assertEqual(r.json()["amount"], H.money(cents))
                elif st == 503:
                    self.assertEqual(r.status, 404, "order %d answered 503 was stored" % oid)
        finally:
            d.cleanup()


if __name__ == "__main__":
    H.main()

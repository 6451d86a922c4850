#!/usr/bin/env python3
"""Flood: N concurrent connections (10,000 by default) each post a signed delivery at once to a
fresh shopsegd, while one client posts verified deliveries one after the other on fresh
connections. Reports the answers, the daemon's peak RSS (VmHWM) and whether every delivery
answered 200 is stored. Exits 1 if the peak RSS is above --rss-bound-mb, if the verified client
got no answer, or if an acknowledged delivery is missing. See bench/README.md."""

import argparse
import json
import os
import resource
import selectors
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import harness as H  # noqa: E402


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def raw_request(body, webhook_id):
    h = H.webhook_headers(body, webhook_id=webhook_id)
    head = "POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n" % len(body)
    head += "".join("%s: %s\r\n" % kv for kv in h.items())
    return head.encode() + b"\r\n" + body


class FloodDaemon(H.Daemon):
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


def verified_client(d, stop, out):
    """Posts distinct verified deliveries on fresh connections until stopped."""
    oid = 5 * 10**15
    while not stop.is_set():
        oid += 1
        body = H.dumps(H.order_payload(oid, 1000, H.ts(5)))
        t0 = time.monotonic()
        try:
            r = d.post(body)
            status = r.status
        except OSError as e:
            status = "error: %s" % e
        out.append((oid, status, time.monotonic() - t0))
        time.sleep(0.05)


def flood(d, n, sample_rss):
    base = 6 * 10**15
    reqs = []
    for i in range(n):
        body = H.dumps(H.order_payload(base + i, 100 + i, H.ts(5),
                                       customer=H.customer_obj(base + 10**7 + i % 500)))
        reqs.append((base + i, 100 + i, raw_request(body, H.new_webhook_id())))
    sel = selectors.DefaultSelector()
    socks = []
    t0 = time.monotonic()
    for oid, cents, req in reqs:
        s = socket.create_connection((d.host, d.port), timeout=60)
        s.setblocking(False)
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, [oid, cents, req, b""])
    connected = time.monotonic() - t0
    answers = {}
    deadline = time.monotonic() + 120
    while sel.get_map() and time.monotonic() < deadline:
        sample_rss()
        for key, ev in sel.select(0.1):
            s, st = key.fileobj, key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    sent = s.send(st[2])
                    st[2] = st[2][sent:]
                    if not st[2]:
                        sel.modify(s, selectors.EVENT_READ, st)
                    continue
                chunk = s.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                chunk = b""
            st[3] += chunk
            if not chunk or b"\r\n\r\n" in st[3]:
                line = st[3].split(b"\r\n", 1)[0].split()
                status = int(line[1]) if len(line) > 1 else None
                answers[st[0]] = (status, st[1], b"\r\nretry-after:" in st[3].lower())
                sel.unregister(s)
                s.close()
    for key in list(sel.get_map().values()):
        answers.setdefault(key.data[0], (None, key.data[1], False))
        key.fileobj.close()
    return answers, connected, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shopsegd", default=os.path.join(HERE, "..", "build", "daemon", "shopsegd"))
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--max-queue", type=int, default=4096)
    ap.add_argument("--rss-bound-mb", type=float, default=256)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 500:
        sys.exit("descriptor hard limit %d is below %d connections + 500"
                 % (hard, args.connections))
    H.SHOPSEGD = os.path.abspath(args.shopsegd)
    d = FloodDaemon({"max_connections": args.connections + 1000, "max_queue": args.max_queue},
                    max_body_bytes=1 << 20)
    peak = [0.0]
    try:
        d.start()

        def sample_rss():
            peak[0] = max(peak[0], peak_rss_mb(d.proc.pid))

        stop = threading.Event()
        verified = []
        vt = threading.Thread(target=verified_client, args=(d, stop, verified), daemon=True)
        vt.start()
        answers, connect_s, total_s = flood(d, args.connections, sample_rss)
        time.sleep(0.5)
        stop.set()
        vt.join(60)
        sample_rss()
        counts = {}
        for st, _, _ in answers.values():
            counts[str(st)] = counts.get(str(st), 0) + 1
        no_retry_after = sum(1 for st, _, ra in answers.values() if st == 503 and not ra)
        lost = []
        for oid, (st, cents, _) in answers.items():
            if st == 200:
                r = d.order(oid)
                if r.status != 200 or r.json()["amount"] != H.money(cents):
                    lost.append(oid)
        v_counts = {}
        for _, st, _ in verified:
            v_counts[str(st)] = v_counts.get(str(st), 0) + 1
        result = {
            "connections": args.connections,
            "max_queue": args.max_queue,
            "connect_seconds": round(connect_s, 2),
            "flood_seconds": round(total_s, 2),
            "answers": counts,
            "503_without_retry_after": no_retry_after,
            "acknowledged_lost": len(lost),
            "verified_client": v_counts,
            "verified_max_seconds": round(max((t for _, _, t in verified), default=0), 3),
            "peak_rss_mb": round(peak[0], 1),
            "rss_bound_mb": args.rss_bound_mb,
        }
        print(json.dumps(result, indent=2))
        ok = (peak[0] <= args.rss_bound_mb and not lost and no_retry_after == 0
              and verified and all(isinstance(st, int) for _, st, _ in verified)
              and v_counts.get("200", 0) > 0 and d.proc.poll() is None)
        print("PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        d.cleanup()


if __name__ == "__main__":
    sys.exit(main())

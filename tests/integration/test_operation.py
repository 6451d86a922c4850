"""Operation under a service manager, through the real shopsegd binary: sd_notify readiness and
stopping against a NOTIFY_SOCKET the test listens on, SIGTERM under load (a drain that loses no
acknowledged delivery), stale and foreign files at the socket paths, and the log (one line per
delivery outcome with ids and latency, no PII; sd-daemon priority prefixes under journald)."""

import http.client
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
from unittest import mock

import harness as H
from harness import SHOP


def nid():
    return random.randrange(2**53, 2**62)


class NotifySocket:
    """An AF_UNIX datagram socket standing in for systemd's notification socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)

    def receive(self, timeout=H.START_TIMEOUT):
        """The next message's assignments ({"READY": "1"}), or None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        return dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)

    def close(self):
        self.sock.close()


def connects(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def listening_tcp_ports(pid):
    """The TCP ports process `pid` listens on right now, read from the kernel (/proc), not from
    its log."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = []
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (pid, table)) as f:
            for row in f.read().splitlines()[1:]:
                cols = row.split()
                if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                    ports.append(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


class Readiness(unittest.TestCase):

    def setUp(self):
        self.d = H.Daemon(extra_config='[[segment]]\nname = "any"\nquery = "number_of_orders >= 1"\n')
        self.notify = NotifySocket(self.d.dir)
        self.d.env["NOTIFY_SOCKET"] = self.notify.path

    def tearDown(self):
        self.notify.close()
        self.d.cleanup()

    def test_ready_once_listening_and_stopping_on_sigterm(self):
        seen = {}

        def on_ready():
            msg = self.notify.receive()
            # Checked the moment READY=1 arrives: both sockets answer and the webhook port
            # accepts (found through the kernel: the log line may not be read yet).
            seen["query"] = connects(self.d.query_sock)
            seen["admin"] = connects(self.d.admin_sock)
            seen["ports"] = ports = listening_tcp_ports(self.d.proc.pid)
            if len(ports) == 1:
                with socket.create_connection(("127.0.0.1", ports[0]), timeout=5):
                    seen["webhook"] = True
            seen["msg"] = msg

        t = threading.Thread(target=on_ready)
        t.start()
        self.d.start()
        t.join(H.START_TIMEOUT)
        self.assertEqual(seen.get("msg"), {"READY": "1"})
        self.assertEqual(seen["ports"], [self.d.port], "listening TCP ports at READY=1")
        self.assertTrue(seen.get("webhook"), "webhook port not accepting at READY=1")
        self.assertTrue(seen["query"], "query socket not answering at READY=1")
        self.assertTrue(seen["admin"], "admin socket not answering at READY=1")
        self.d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.notify.receive(), {"STOPPING": "1"})
        self.assertEqual(self.d.proc.wait(30), 0)
        self.d._reap()
        self.assertIsNone(self.notify.receive(timeout=0.2), "a message after STOPPING=1")

    def test_ready_after_the_start_up_recompute(self):
        cid = nid()
        self.d.start()
        self.assertEqual(self.notify.receive(), {"READY": "1"})
        self.d.post_ok(self, H.order_payload(nid(), 500, H.ts(5), customer=H.customer_obj(cid)))
        self.d.stop()
        self.assertEqual(self.notify.receive(), {"STOPPING": "1"})
        # a changed segment is recomputed before READY=1: the first query after it sees it
        self.d.extra_config = '[[segment]]\nname = "any"\nquery = "number_of_orders >= 5"\n'
        self.d._write_config()
        got = {}

        def on_ready():
            got["msg"] = self.notify.receive()
            got["customer"] = H.unix_request(self.d.query_sock, "GET",
                                             "/v1/customers/%s/%d" % (SHOP, cid))

        t = threading.Thread(target=on_ready)
        t.start()
        self.d.start()
        t.join(H.START_TIMEOUT)
        self.assertEqual(got["msg"], {"READY": "1"})
        self.assertEqual(got["customer"].status, 200, got["customer"])
        self.assertEqual(got["customer"].json()["segments"], [])

    def test_no_ready_when_start_up_fails(self):
        with open(self.d.query_sock, "w") as f:
            f.write("not a socket\n")
        with self.assertRaisesRegex(RuntimeError, "exited with 1"):
            self.d.start()
        self.assertIsNone(self.notify.receive(timeout=0.2), "READY=1 sent by a failed start")


class SocketPaths(unittest.TestCase):

    def setUp(self):
        self.d = H.Daemon()

    def tearDown(self):
        self.d.cleanup()

    def test_regular_file_is_left_alone_and_start_fails(self):
        content = "operator notes, not a socket\n"
        with open(self.d.admin_sock, "w") as f:
            f.write(content)
        with self.assertRaisesRegex(RuntimeError, "exited with 1") as cm:
            self.d.start()
        self.assertIn(self.d.admin_sock + ": exists and is not a socket", str(cm.exception))
        with open(self.d.admin_sock) as f:
            self.assertEqual(f.read(), content)
        self.assertFalse(os.path.exists(self.d.query_sock) and connects(self.d.query_sock))

    def test_stale_socket_is_replaced(self):
        for path in (self.d.query_sock, self.d.admin_sock):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.bind(path)
            s.close()  # the file stays, nobody listens: what a killed daemon leaves
        self.d.start()
        self.assertEqual(self.d.query("/v1/health").status, 200)
        self.assertEqual(self.d.query("/v1/health", admin=True).status, 200)

    def test_socket_in_use_is_not_taken(self):
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            other.bind(self.d.query_sock)
            other.listen(1)
            inode = os.stat(self.d.query_sock).st_ino
            with self.assertRaisesRegex(RuntimeError, "another process is listening"):
                self.d.start()
            self.assertEqual(os.stat(self.d.query_sock).st_ino, inode)
            self.assertTrue(connects(self.d.query_sock))
        finally:
            other.close()


class DescriptorLimit(unittest.TestCase):

    def test_out_of_descriptors_pauses_accepting_and_recovers(self):
        d = H.Daemon()
        wrapper = os.path.join(d.dir, "shopsegd-64-fds")
        with open(wrapper, "w") as f:  # soft and hard limit 64: the daemon cannot raise it
            f.write('#!/bin/sh\nulimit -n 64\nexec "%s" "$@"\n' % H.SHOPSEGD)
        os.chmod(wrapper, 0o755)
        held = []
        try:
            with mock.patch.object(H, "SHOPSEGD", wrapper):
                d.start()
            self.assertIn("descriptor limit 64 is below [webhook] max_connections", d.stderr_text())
            for _ in range(100):  # more than 64: the last ones wait in the backlog
                held.append(socket.create_connection((d.host, d.port), timeout=10))
            deadline = time.monotonic() + 10
            while "pausing accepts" not in d.stderr_text() and time.monotonic() < deadline:
                time.sleep(0.02)
            self.assertIn("accept failed: Too many open files; pausing accepts", d.stderr_text())
            for s in held:
                s.close()
            held = []
            # the idle connections end, their descriptors come back, deliveries are served
            d.post_ok(self, H.order_payload(nid(), 100, H.ts(5), customer=H.customer_obj(nid())))
            self.assertEqual(d.stop(), 0)
        finally:
            for s in held:
                s.close()
            d.cleanup()


class Poster(threading.Thread):
    """Posts distinct signed orders of one customer as fast as it can, keeping each answer."""

    def __init__(self, d, customer_id, stop):
        super().__init__(daemon=True)
        self.d, self.customer_id, self.stop_event = d, customer_id, stop
        self.next_id = customer_id + 1
        self.acked, self.refused, self.sent = [], [], 0   # order ids answered 200 / 503
        self.error = None

    def run(self):
        conn, failures = None, 0
        cust = H.customer_obj(self.customer_id)
        while not self.stop_event.is_set() and failures < 200:
            oid, self.next_id = self.next_id, self.next_id + 1
            body = H.dumps(H.order_payload(oid, 100, H.ts(5), customer=cust))
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(self.d.host, self.d.port, timeout=30)
                self.sent += 1
                conn.request("POST", "/webhooks", body, H.webhook_headers(body))
                r = conn.getresponse()
                r.read()
            except (OSError, http.client.HTTPException):
                if conn is not None:
                    conn.close()
                conn, failures = None, failures + 1
                time.sleep(0.01)
                continue
            if r.status == 200:
                self.acked.append(oid)
            elif r.status == 503:
                self.refused.append(oid)
            else:
                self.error = "unexpected answer %d" % r.status
                break
            if r.will_close:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()


class Drain(unittest.TestCase):

    def test_sigterm_under_load_loses_no_acknowledged_delivery(self):
        d = H.Daemon()
        try:
            d.start()
            stop = threading.Event()
            posters = [Poster(d, nid() // 10**6 * 10**6, stop) for _ in range(4)]
            for p in posters:
                p.start()
            deadline = time.monotonic() + 60
            while sum(len(p.acked) for p in posters) < 200 and time.monotonic() < deadline:
                time.sleep(0.005)
            d.proc.send_signal(signal.SIGTERM)  # mid-load: the posters keep going
            rc = d.proc.wait(30)
            stop.set()
            for p in posters:
                p.join(60)
                self.assertFalse(p.is_alive(), "poster hung")
                self.assertIsNone(p.error)
                # once draining, every answer closes its connection and the listener is closed:
                # a client gets at most one 503, not one per request until the exit
                self.assertLessEqual(len(p.refused), 1, "503s to one client during the drain")
            d._reap()
            self.assertEqual(rc, 0, "exit status after SIGTERM")
            self.assertIn("shutdown: no longer accepting", d.stderr_text())
            acked = [oid for p in posters for oid in p.acked]
            refused = [oid for p in posters for oid in p.refused]
            print("\nsent %d, acknowledged %d, answered 503 %d"
                  % (sum(p.sent for p in posters), len(acked), len(refused)), flush=True)
            d.start()
            missing = [oid for oid in acked if d.order(oid).status != 200]
            self.assertEqual(missing, [], "%d of %d acknowledged deliveries lost"
                             % (len(missing), len(acked)))
            stored = [oid for oid in refused if d.order(oid).status != 404]
            self.assertEqual(stored, [], "deliveries answered 503 were stored")
            for p in posters:
                n = d.customer(p.customer_id).json()["number_of_orders"]
                self.assertGreaterEqual(n, len(p.acked))
                self.assertLessEqual(n, p.sent - len(p.refused))
        finally:
            d.cleanup()


class ReloadRefused(unittest.TestCase):
    """test_reload.py covers a config with an invalid segment; here the file itself is broken."""

    def test_sighup_with_a_broken_or_missing_config_keeps_serving(self):
        d = H.Daemon()
        try:
            d.start()
            for broken in ("[webhook\nlisten = ", None):  # a TOML syntax error, then no file
                if broken is None:
                    os.remove(d.config_path)
                else:
                    with open(d.config_path, "w") as f:
                        f.write(broken)
                refusals = d.stderr_text().count("reload refused")
                d.proc.send_signal(signal.SIGHUP)
                deadline = time.monotonic() + 10
                while d.stderr_text().count("reload refused") == refusals and time.monotonic() < deadline:
                    time.sleep(0.02)
                self.assertEqual(d.stderr_text().count("reload refused"), refusals + 1)
                cid = nid()
                d.post_ok(self, H.order_payload(nid(), 100, H.ts(5), customer=H.customer_obj(cid)))
                self.assertEqual(d.customer(cid).status, 200)
                self.assertEqual(d.query("/v1/health", admin=True).status, 200)
            self.assertIsNone(d.proc.poll())
            self.assertEqual(d.stop(), 0)
        finally:
            d.cleanup()


OUTCOME_RE = re.compile(r"webhook (\S+) topic=(\S+) shop=(\S+) outcome=(\w+) status=(\d+) latency_us=(\d+)$")


def outcome_lines(text):
    """webhook id -> [(topic, shop, outcome, status)] from the delivery outcome lines."""
    found = {}
    for line in text.splitlines():
        m = OUTCOME_RE.search(line)
        if m:
            found.setdefault(m.group(1), []).append((m.group(2), m.group(3), m.group(4), int(m.group(5))))
    return found


class Logs(H.DaemonTestCase):

    def test_one_line_per_delivery_outcome_without_pii(self):
        d = self.daemon
        cid = nid()
        pii = ["log-pii-%d@example.com" % cid, "Zzfirstname%d" % cid, "Zzlastname%d" % cid,
               "+1555%07d" % (cid % 10**7)]
        cust = H.customer_obj(cid, email=pii[0], first_name=pii[1], last_name=pii[2], phone=pii[3],
                              updated_at=H.ts(5), created_at=H.ts(1))
        order = H.order_payload(nid(), 777, H.ts(5), customer=cust)
        ids = {k: H.new_webhook_id() for k in ("committed", "duplicate", "quarantined", "customer",
                                                "unauthorized")}
        d.post_ok(self, order, webhook_id=ids["committed"])
        d.post_ok(self, order, webhook_id=ids["committed"])  # the same delivery again
        d.post_ok(self, H.dumps(order)[:-3], webhook_id=ids["quarantined"])
        d.post_ok(self, cust, topic="customers/update", webhook_id=ids["customer"])
        self.assertEqual(d.post(order, webhook_id=ids["unauthorized"], secret="wrong").status, 401)
        deadline = time.monotonic() + 5
        while len(outcome_lines(d.stderr_text())) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        lines = outcome_lines(d.stderr_text())
        self.assertEqual(lines.get(ids["committed"]), [("orders/create", SHOP, "committed", 200),
                                                       ("orders/create", SHOP, "duplicate", 200)])
        self.assertEqual(lines.get(ids["quarantined"]), [("orders/create", SHOP, "quarantined", 200)])
        self.assertEqual(lines.get(ids["customer"]), [("customers/update", SHOP, "committed", 200)])
        self.assertEqual(lines.get(ids["unauthorized"]), [("orders/create", SHOP, "unauthorized", 401)])
        log = d.stderr_text()
        for value in pii + ['"line_items"', str(order["id"])]:
            self.assertNotIn(value, log)


class Journal(unittest.TestCase):
    """Under journald (stderr is the stream $JOURNAL_STREAM names) lines carry sd-daemon
    priority prefixes and no timestamp."""

    def test_priority_prefixes_when_stderr_is_the_journal_stream(self):
        d = H.Daemon()
        r, w = os.pipe()
        st = os.fstat(w)
        env = dict(os.environ, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        proc = subprocess.Popen([H.SHOPSEGD, "--config", d.config_path], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=w, env=env, cwd=d.dir)
        os.close(w)
        lines = []
        try:
            with os.fdopen(r, "rb") as out:
                for raw in out:
                    lines.append(raw.decode().rstrip("\n"))
                    m = H.LISTENER_RE.search(lines[-1])
                    if m:
                        d.host, d.port = m.group(1), int(m.group(2))
                    if "shopsegd ready" in lines[-1]:
                        d.post_ok(self, H.order_payload(nid(), 100, H.ts(5),
                                                        customer=H.customer_obj(nid())))
                        self.assertEqual(d.post(b"{}", secret="wrong").status, 401)
                        proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            d.cleanup()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, r"^<[2-7]>[^<0-9]", "line without a priority prefix or with a timestamp")
        self.assertTrue(any(re.match(r"<6>webhook .* outcome=committed ", l) for l in lines), lines)
        self.assertTrue(any(re.match(r"<4>webhook .* outcome=unauthorized ", l) for l in lines), lines)
        self.assertIn("<6>shopsegd ready", lines)


if __name__ == "__main__":
    H.main()

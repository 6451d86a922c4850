"""Shared helpers for the shopsegd integration tests (Python 3 standard library only).

Each test file is run as
`python3 test_x.py --shopsegd PATH [--shopseg PATH] --fixtures DIR [unittest args]`.
`main()` parses those options (--shopseg: the command-line client) and hands the rest to unittest.
"""

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

SHOPSEGD = None
SHOPSEG = None  # the command-line client
FIXTURES = None

SHOP = "hot-rod-an.myshopify.com"
OTHER_SHOP = "other-shop.myshopify.com"
SECRET_1 = "test-secret-1"
SECRET_2 = "test-secret-2"
SHOP_KEY = "shop-signing-key"
DEFAULT_MAX_BODY = 65536
START_TIMEOUT = 30.0

LISTENER_RE = re.compile(r"webhook listener on ([0-9.]+):(\d+)")


def main():
    """Parse --shopsegd, --shopseg and --fixtures, then run unittest with the remaining arguments."""
    global SHOPSEGD, SHOPSEG, FIXTURES
    paths = {"--shopsegd": None, "--shopseg": None, "--fixtures": None}
    rest = [sys.argv[0]]
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, value = a.partition("=")
        if name in paths and eq:
            paths[name] = os.path.abspath(value)
        elif a in paths and i + 1 < len(args):
            paths[a] = os.path.abspath(args[i + 1])
            i += 1
        else:
            rest.append(a)
        i += 1
    SHOPSEGD, SHOPSEG, FIXTURES = paths["--shopsegd"], paths["--shopseg"], paths["--fixtures"]
    here = os.path.dirname(os.path.abspath(__file__))
    if SHOPSEGD is None:
        SHOPSEGD = os.environ.get("SHOPSEGD") or os.path.join(
            here, "..", "..", "build", "daemon", "shopsegd")
    if SHOPSEG is None:
        SHOPSEG = os.environ.get("SHOPSEG") or os.path.join(here, "..", "..", "build", "cli", "shopseg")
    if FIXTURES is None:
        FIXTURES = os.path.join(here, "..", "fixtures")
    unittest.main(argv=rest, verbosity=2)


def fixture_bytes(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# ---------------------------------------------------------------- signing and money

def sign(body, secret=SECRET_1):
    if isinstance(secret, str):
        secret = secret.encode()
    return base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest()).decode()


def money(cents):
    """Integer cents -> decimal string with two decimals ("-0.05" style for negatives)."""
    sign_ = "-" if cents < 0 else ""
    c = abs(cents)
    return "%s%d.%02d" % (sign_, c // 100, c % 100)


def ts(day, hour=10, minute=0, second=0, offset="-06:00", year=2026, month=1):
    """A Shopify-style timestamp, e.g. 2026-01-05T10:00:00-06:00."""
    return "%04d-%02d-%02dT%02d:%02d:%02d%s" % (year, month, day, hour, minute, second, offset)


# ---------------------------------------------------------------- payload builders

def customer_obj(cid, email=None, first_name="Ann", last_name="Driver", phone=None,
                 state="enabled", tags=None, updated_at=None, created_at=None):
    c = {
        "id": cid,
        "email": email if email is not None else "c%d@example.com" % cid,
        "created_at": created_at,
        "updated_at": updated_at,
        "first_name": first_name,
        "last_name": last_name,
        "state": state,
        "note": None,
        "verified_email": True,
        "tax_exempt": False,
        "phone": phone,
        "currency": "USD",
        "admin_graphql_api_id": "gid://shopify/Customer/%d" % cid,
    }
    if tags is not None:
        c["tags"] = tags
    return c


def order_payload(oid, cents, updated_at, processed_at=None, customer=None, test=False,
                  cancelled_at=None, financial_status="paid", currency="USD",
                  total_cents=None, with_set=True, name=None, created_at=None):
    """An orders/* payload shaped like tests/fixtures/orders_create.json.

    `cents` is the net (current) total; `total_cents` the original total (defaults to cents).
    """
    if processed_at is None:
        processed_at = updated_at
    if created_at is None:
        created_at = processed_at
    if total_cents is None:
        total_cents = cents
    cur = money(cents)
    tot = money(total_cents)
    o = {
        "id": oid,
        "admin_graphql_api_id": "gid://shopify/Order/%d" % oid,
        "created_at": created_at,
        "updated_at": updated_at,
        "processed_at": processed_at,
        "cancelled_at": cancelled_at,
        "cancel_reason": "customer" if cancelled_at else None,
        "currency": currency,
        "presentment_currency": currency,
        "current_total_price": cur,
        "total_price": tot,
        "subtotal_price": tot,
        "total_price_set": {"shop_money": {"amount": tot, "currency_code": currency},
                            "presentment_money": {"amount": tot, "currency_code": currency}},
        "financial_status": financial_status,
        "fulfillment_status": None,
        "name": name if name is not None else "#%d" % (oid % 100000),
        "test": test,
        "tags": "",
        "line_items": [],
        "refunds": [],
        "email": customer["email"] if customer else None,
        "customer": customer,
    }
    if with_set:
        o["current_total_price_set"] = {
            "shop_money": {"amount": cur, "currency_code": currency},
            "presentment_money": {"amount": cur, "currency_code": currency}}
    return o


def refund_payload(rid, order_id, cents, created_at):
    m = money(cents)
    return {
        "id": rid,
        "order_id": order_id,
        "created_at": created_at,
        "processed_at": created_at,
        "note": "refund",
        "restock": False,
        "refund_line_items": [],
        "order_adjustments": [],
        "duties": [],
        "transactions": [{"id": rid + 1, "order_id": order_id, "kind": "refund",
                          "status": "success", "amount": m, "currency": "USD",
                          "created_at": created_at, "processed_at": created_at}],
    }


def redact_payload(cid, email, order_ids=(), phone=None, shop=SHOP):
    return {"shop_id": 954889, "shop_domain": shop,
            "customer": {"id": cid, "email": email, "phone": phone},
            "orders_to_redact": list(order_ids)}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


# ---------------------------------------------------------------- HTTP helpers

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:300])


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def unix_request(path, method, target, body=None, headers=None, timeout=30):
    conn = UnixHTTPConnection(path, timeout=timeout)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def webhook_headers(body, topic="orders/create", shop=SHOP, webhook_id=None, secret=SECRET_1,
                    api_version="2025-01", hmac_value=None, prefix="X-", omit=()):
    if webhook_id is None:
        webhook_id = new_webhook_id()
    h = {}
    vals = {
        "Shopify-Topic": topic,
        "Shopify-Hmac-Sha256": hmac_value if hmac_value is not None else sign(body, secret),
        "Shopify-Shop-Domain": shop,
        "Shopify-Webhook-Id": webhook_id,
        "Shopify-API-Version": api_version,
        "Shopify-Triggered-At": "2026-01-05T16:00:00.000000000Z",
    }
    for k, v in vals.items():
        if k in omit or k.lower() in omit or v is None:
            continue
        h[prefix + k] = v
    h["Content-Type"] = "application/json"
    return h


_wid_lock = threading.Lock()
_wid_counter = [0]


def new_webhook_id():
    with _wid_lock:
        _wid_counter[0] += 1
        n = _wid_counter[0]
    return "wh-%d-%d-%s" % (os.getpid(), n, base64.b32encode(os.urandom(5)).decode().lower())


# ---------------------------------------------------------------- the daemon

class Daemon:
    """One shopsegd process in a temp dir. stderr is collected by a background thread."""

    def __init__(self, allowed_shops=None, max_body_bytes=DEFAULT_MAX_BODY, workdir=None,
                 extra_config=""):
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="shopseg-it-")
        self.query_sock = os.path.join(self.dir, "query.sock")
        self.admin_sock = os.path.join(self.dir, "admin.sock")
        self.db_path = os.path.join(self.dir, "shopseg.db")
        self.config_path = os.path.join(self.dir, "shopsegd.toml")
        self.allowed_shops = allowed_shops
        self.max_body_bytes = max_body_bytes
        self.extra_config = extra_config
        self.env = {}  # extra environment for the daemon (e.g. SHOPSEGD_TEST_CLOCK_OFFSET_MS)
        self.proc = None
        self.port = None
        self.host = None
        self.lines = []          # every stderr line of every run, kept for PII greps
        self._lines_lock = threading.Lock()
        self._ready = threading.Event()
        self._write_config()

    def _write_config(self):
        allowed = ""
        if self.allowed_shops is not None:
            allowed = "allowed_shops = [%s]\n" % ", ".join('"%s"' % s for s in self.allowed_shops)
        cfg = (
            "[webhook]\n"
            'listen = "127.0.0.1:0"\n'
            'path = "/webhooks"\n'
            'secrets = ["%s", "%s"]\n'
            "max_body_bytes = %d\n"
            "%s"
            "\n[query]\n"
            'socket = "%s"\n'
            'mode = "0660"\n'
            "\n[admin]\n"
            'socket = "%s"\n'
            "\n[store]\n"
            'path = "%s"\n'
            "keep_raw_bodies_days = 0\n"
            "\n[log]\n"
            'level = "info"\n'
            "\n[default_service]\n"
            'priority = "normal"\n'
            "response_minutes = 240\n"
            "\n[[shop]]\n"
            'domain = "%s"\n'
            'timezone = "America/Chicago"\n'
            'secrets = ["%s"]\n'
            "%s\n"
        ) % (SECRET_1, SECRET_2, self.max_body_bytes, allowed, self.query_sock,
             self.admin_sock, self.db_path, SHOP, SHOP_KEY, self.extra_config)
        with open(self.config_path, "w") as f:
            f.write(cfg)

    # -- lifecycle

    def start(self):
        if not SHOPSEGD or not os.path.exists(SHOPSEGD):
            raise RuntimeError("shopsegd binary not found: %r" % SHOPSEGD)
        self._ready.clear()
        self.port = None
        self.proc = subprocess.Popen([SHOPSEGD, "--config", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, cwd=self.dir,
                                     env=dict(os.environ, **self.env))
        t = threading.Thread(target=self._read_stderr, args=(self.proc,), daemon=True)
        t.start()
        self._reader = t
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._ready.wait(0.05):
                break
            if self.proc.poll() is not None:
                t.join(5)
                raise RuntimeError("shopsegd exited with %s before ready; stderr:\n%s"
                                   % (self.proc.returncode, self.stderr_text()[-4000:]))
        else:
            self.kill()
            raise RuntimeError("shopsegd not ready within %ss; stderr:\n%s"
                               % (START_TIMEOUT, self.stderr_text()[-4000:]))
        if self.port is None:
            self.kill()
            raise RuntimeError("no 'webhook listener on HOST:PORT' line before ready; stderr:\n%s"
                               % self.stderr_text()[-4000:])
        return self

    def _read_stderr(self, proc):
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lines_lock:
                self.lines.append(line)
            m = LISTENER_RE.search(line)
            if m and self.port is None:
                self.host, self.port = m.group(1), int(m.group(2))
            if "shopsegd ready" in line:
                self._ready.set()

    def stderr_text(self):
        with self._lines_lock:
            return "\n".join(self.lines)

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self._reap()
        return rc

    def _reap(self):
        self._reader.join(10)
        self.proc.stderr.close()
        self.proc = None

    def kill(self):
        """kill -9."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._reap()

    def restart(self):
        self.stop()
        return self.start()

    def cleanup(self):
        try:
            self.kill()
        finally:
            if self.own_dir and not os.environ.get("SHOPSEG_KEEP_TMP"):
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()

    # -- webhook side

    def http(self, method, path, body=b"", headers=None, timeout=30):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers or {})
            except (BrokenPipeError, ConnectionResetError):
                pass  # the daemon may answer (413) before reading the body
            r = conn.getresponse()
            data = r.read()
            return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
        finally:
            conn.close()

    def post(self, body, topic="orders/create", shop=SHOP, webhook_id=None, secret=SECRET_1,
             path="/webhooks", **kw):
        if not isinstance(body, (bytes, bytearray)):
            body = dumps(body)
        h = webhook_headers(body, topic=topic, shop=shop, webhook_id=webhook_id, secret=secret,
                            **kw)
        return self.http("POST", path, body, h)

    def post_ok(self, testcase, body, **kw):
        r = self.post(body, **kw)
        testcase.assertEqual(r.status, 200, "delivery refused: %r" % (r,))
        return r

    # -- sockets

    def query(self, target, admin=False):
        return unix_request(self.admin_sock if admin else self.query_sock, "GET", target)

    def customer(self, cid, shop=SHOP, admin=False):
        return self.query("/v1/customers/%s/%d" % (shop, cid), admin=admin)

    def order(self, oid, shop=SHOP, admin=False):
        return self.query("/v1/orders/%s/%d" % (shop, oid), admin=admin)

    def quarantine(self):
        return self.query("/v1/quarantine", admin=True)

    def raw_db_bytes(self):
        out = b""
        for suffix in ("", "-wal"):
            p = self.db_path + suffix
            if os.path.exists(p):
                with open(p, "rb") as f:
                    out += f.read()
        return out


class DaemonTestCase(unittest.TestCase):
    """One daemon per test class (started in setUpClass)."""

    daemon_kwargs = {}
    daemon = None

    @classmethod
    def setUpClass(cls):
        cls.daemon = Daemon(**cls.daemon_kwargs)
        try:
            cls.daemon.start()
        except Exception:
            cls.daemon.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.daemon is not None:
            cls.daemon.cleanup()


def day_in_chicago(timestamp):
    """Calendar day of an ISO-8601 timestamp in America/Chicago."""
    from zoneinfo import ZoneInfo
    t = datetime.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return t.astimezone(ZoneInfo("America/Chicago")).date().isoformat()


def stable(obj):
    """An answer without the fields that say when it was written."""
    if isinstance(obj, dict):
        return {k: stable(v) for k, v in obj.items() if k not in ("updated_at", "as_of")}
    if isinstance(obj, list):
        return [stable(v) for v in obj]
    return obj


def store_state(d, customers, orders):
    """What the query socket answers for these customers and orders, and every segment's
    count, without the fields that say when it was written."""
    out = {}
    for cid in customers:
        r = d.customer(cid)
        out["c%d" % cid] = (r.status, stable(r.json()) if r.status == 200 else None)
    for oid in orders:
        r = d.order(oid)
        out["o%d" % oid] = (r.status, stable(r.json()) if r.status == 200 else None)
    seg = d.query("/v1/segments").json()
    out["segments"] = sorted((s["name"], s.get("members")) for s in seg["segments"])
    return out

"""The `shopseg` command-line client against a running shopsegd: every command's table and its
--json (which must be the socket's own answer), members pagination, watch following the change
log while deliveries arrive, the admin commands, and the exit codes scripts rely on."""

import datetime
import json
import os
import queue
import random
import re
import signal
import socket
import subprocess
import threading
import unittest

import harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
RUN_TIMEOUT = 60    # seconds a command may take before the test fails (a bound, not an assert)
LINE_TIMEOUT = 30   # seconds to wait for a line from `shopseg watch`


def shipped_segments():
    with open(os.path.join(HERE, "..", "..", "config.example.toml")) as f:
        text = f.read()
    return text[text.index("[[segment]]"):]


def nid():
    return random.randrange(2**53, 2**63)  # beyond a double's exact integers


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def record(text):
    """`key  value` lines of a record -> dict (the first record of the text)."""
    out, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            break
        if line[0] == " ":  # a multi-line value continues under itself
            out[key] += "\n" + line.strip()
            continue
        key, _, value = re.split(r"(\s{2,})", line, maxsplit=1)
        out[key] = value
    return out


def table(text):
    """An aligned table -> list of dicts keyed by the header (cells split on 2+ spaces)."""
    lines = [l for l in text.splitlines() if l.strip()]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", l.strip()))) for l in lines[1:]]


class Cli(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = H.Daemon(extra_config=shipped_segments())
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    # -- running the client

    def shopseg(self, *args, sockets=True, env=None):
        """Runs the client; returns (exit code, stdout, stderr)."""
        argv = [H.SHOPSEG]
        if sockets:
            argv += ["--socket", self.d.query_sock, "--admin-socket", self.d.admin_sock]
        p = subprocess.run(argv + list(args), stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=RUN_TIMEOUT, env=dict(os.environ, **(env or {})))
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def ok(self, *args, **kw):
        rc, out, err = self.shopseg(*args, **kw)
        self.assertEqual(rc, 0, "shopseg %s: %s" % (" ".join(args), err))
        return out

    # -- data

    def buy(self, cid, dollars, email=None, phone=None, days_ago=1, daemon=None):
        """Posts a paid order of `dollars` for customer `cid`; returns the order id."""
        when = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=days_ago)
        customer = H.customer_obj(cid, email=email, phone=phone)
        oid = nid()
        (daemon or self.d).post_ok(self, H.order_payload(oid, int(dollars * 100), iso(when),
                                                         customer=customer))
        return oid

    def last_seq(self):
        seq = 0
        while True:
            page = self.d.query("/v1/changes?after=%d&limit=10000" % seq).json()
            if page["last_seq"] == seq:
                return seq
            seq = page["last_seq"]

    # -- one customer

    def test_customer_record_and_json(self):
        cid = nid()
        self.buy(cid, 3100.5, email="rec-%d@example.com" % cid)
        c = record(self.ok("customer", H.SHOP, str(cid)))
        self.assertEqual(c["id"], str(cid))  # all 64 bits, never through a double
        self.assertEqual(c["shop"], H.SHOP)
        self.assertEqual(c["tier"], "silver")
        self.assertEqual(c["amount_spent"], "3100.50")
        self.assertEqual(c["number_of_orders"], "1")
        self.assertEqual(c["service.response_minutes"], "240")
        self.assertIn("first-time", c["segments"].split(", "))
        self.assertEqual(c["phone"], "-")
        socket_answer = self.d.customer(cid)
        self.assertEqual(self.ok("--json", "customer", H.SHOP, str(cid)),
                         socket_answer.body.decode() + "\n")
        # options may follow the command too
        self.assertEqual(json.loads(self.ok("customer", H.SHOP, str(cid), "--json")),
                         socket_answer.json())

    def test_lookup_by_email_case_insensitive(self):
        cid = nid()
        email = "Look.Up+%d@Example.com" % cid
        self.buy(cid, 40, email=email)
        c = record(self.ok("lookup", H.SHOP, "--email", email.upper()))
        self.assertEqual(c["id"], str(cid))
        self.assertEqual(c["email"], email)
        target = "/v1/customers/%s?email=%s" % (H.SHOP, email.replace("+", "%2B"))
        self.assertEqual(json.loads(self.ok("lookup", H.SHOP, "--email", email, "--json")),
                         self.d.query(target).json())

    def test_lookup_by_phone(self):
        cid = nid()
        phone = "+1613555%04d" % (cid % 10000)
        self.buy(cid, 25, phone=phone)
        found = self.ok("lookup", H.SHOP, "--phone", phone)
        self.assertIn(str(cid), [r["id"] for r in self.records(found)])

    def records(self, text):
        return [record(block) for block in text.split("\n\n") if block.strip()]

    def test_lookup_that_matches_no_one_is_not_found(self):
        rc, out, err = self.shopseg("lookup", H.SHOP, "--email", "nobody-%d@example.com" % nid())
        self.assertEqual(rc, 3, err)
        self.assertTrue(err.startswith("shopseg: lookup "), err)

    def test_explain(self):
        cid = nid()
        self.buy(cid, 3100)
        text = self.ok("explain", H.SHOP, str(cid), "silver")
        head = record(text)
        self.assertEqual(head["segment"], "silver")
        self.assertEqual(head["matches"], "true")
        self.assertEqual(head["member"], "true")
        self.assertIn("largest_order_amount > 2500", head["query"])
        self.assertIn("\nOR customer_tags CONTAINS 'race-team'", head["query"])  # multi-line
        clauses = table(text.split("\n\n", 1)[1])
        self.assertTrue(clauses, text)
        self.assertEqual(set(clauses[0]), {"CLAUSE", "SAW", "HELD", "AT"})
        socket_answer = self.d.query("/v1/customers/%s/%d/explain?segment=silver" % (H.SHOP, cid))
        self.assertEqual(json.loads(self.ok("explain", H.SHOP, str(cid), "silver", "--json")),
                         socket_answer.json())
        rc, _, err = self.shopseg("explain", H.SHOP, str(cid), "no-such-segment")
        self.assertEqual(rc, 3, err)

    def test_order_with_its_flags(self):
        cid = nid()
        oid = self.buy(cid, 12840.5)
        o = record(self.ok("order", H.SHOP, str(oid)))
        self.assertEqual(o["id"], str(oid))
        self.assertEqual(o["customer_id"], str(cid))
        self.assertEqual(o["amount"], "12840.50")
        self.assertEqual(o["flags"], "immediate-escalation")
        self.assertEqual(o["escalation.flag"], "immediate-escalation")
        self.assertEqual(json.loads(self.ok("order", H.SHOP, str(oid), "--json")),
                         self.d.order(oid).json())
        rc, _, err = self.shopseg("order", H.SHOP, str(nid()))
        self.assertEqual(rc, 3, err)

    def test_export_customer_is_the_admin_answer(self):
        cid = nid()
        self.buy(cid, 99)
        out = self.ok("export-customer", H.SHOP, str(cid))
        expected = self.d.query("/v1/customers/%s/%d/export" % (H.SHOP, cid), admin=True)
        self.assertEqual(json.loads(out), expected.json())
        self.assertEqual(json.loads(out)["id"], cid)

    # -- segments

    def test_segments_table_and_json(self):
        self.buy(nid(), 3100)
        answer = self.d.query("/v1/segments").json()
        rows = table(self.ok("segments"))
        self.assertEqual([r["NAME"] for r in rows], [s["name"] for s in answer["segments"]])
        silver = next(r for r in rows if r["NAME"] == "silver")
        self.assertEqual(silver["TIER"], "3")
        self.assertGreaterEqual(int(silver["MEMBERS"]), 1)
        self.assertEqual(json.loads(self.ok("segments", "--json"))["segments"][0]["name"],
                         answer["segments"][0]["name"])

    def test_members_follows_the_cursor(self):
        ids = {nid() for _ in range(3)}
        for cid in ids:
            self.buy(cid, 2600, email="m-%d@example.com" % cid)
        expected, cursor = [], None
        while True:
            target = "/v1/segments/silver/members?limit=2&shop=%s" % H.SHOP
            if cursor:
                target += "&after=" + cursor
            page = self.d.query(target).json()
            expected += page["members"]
            cursor = page["next"]
            if cursor is None:
                break
        self.assertTrue(ids <= {m["id"] for m in expected})
        rows = table(self.ok("members", "silver", "--shop", H.SHOP, "--limit", "1", "--all"))
        self.assertEqual([r["ID"] for r in rows], [str(m["id"]) for m in expected])
        merged = json.loads(self.ok("members", "silver", "--shop", H.SHOP, "--limit", "1",
                                    "--all", "--json"))
        self.assertEqual(merged, {"segment": "silver", "members": expected, "next": None})
        # without --all: one page, and a word on stderr that more follow
        rc, out, err = self.shopseg("members", "silver", "--shop", H.SHOP, "--limit", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(table(out)), 1)
        self.assertIn("--after", err)
        rc, _, err = self.shopseg("members", "no-such-segment")
        self.assertEqual(rc, 3, err)

    # -- the change log

    def follow(self, *args):
        """Starts `shopseg ARGS` and returns (process, queue of its stdout lines)."""
        proc = subprocess.Popen([H.SHOPSEG, "--socket", self.d.query_sock] + list(args),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(lambda: proc.poll() is None and proc.kill())
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l.decode()) for l in proc.stdout],
                         daemon=True).start()
        return proc, lines

    def test_watch_prints_changes_as_they_arrive(self):
        before = self.last_seq()
        proc, lines = self.follow("watch", "--after", str(before))
        try:
            header = lines.get(timeout=LINE_TIMEOUT)
            self.assertEqual(header.split(), ["SEQ", "AT", "SHOP", "CUSTOMER", "SEGMENT",
                                              "CHANGE", "CAUSE"])
            cid = nid()
            self.buy(cid, 3100)  # joins silver and first-time
            seen = []
            while not any(l[3] == str(cid) and l[4] == "silver" for l in seen):
                line = lines.get(timeout=LINE_TIMEOUT)
                seen.append(line.split())
            row = next(l for l in seen if l[4] == "silver")
            self.assertEqual(row[5], "joined")
            self.assertGreater(int(row[0]), before)
        finally:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(RUN_TIMEOUT)
        self.assertEqual(rc, 0, proc.stderr.read().decode())

    def test_watch_json_lines_are_the_change_log(self):
        before = self.last_seq()
        cid = nid()
        self.buy(cid, 3100)
        expected = self.d.query("/v1/changes?after=%d" % before).json()["changes"]
        proc, lines = self.follow("--json", "watch", "--after", str(before))
        try:
            got = [json.loads(lines.get(timeout=LINE_TIMEOUT)) for _ in expected]
        finally:
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(RUN_TIMEOUT)
        self.assertEqual(got, expected)
        self.assertEqual(rc, 0)

    def test_watch_ends_with_4_when_the_daemon_goes_away(self):
        d = H.Daemon()
        self.addCleanup(d.cleanup)
        d.start()
        proc = subprocess.Popen([H.SHOPSEG, "--socket", d.query_sock, "watch"],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(proc.stderr.close)
        self.addCleanup(proc.stdout.close)
        self.assertTrue(proc.stdout.readline().startswith(b"SEQ"))  # following now
        self.assertEqual(d.stop(), 0)
        self.assertEqual(proc.wait(RUN_TIMEOUT), 4)
        self.assertIn(d.query_sock, proc.stderr.read().decode())

    # -- admin

    def quarantine_bad_delivery(self):
        """Posts an undecodable delivery; returns its row of `shopseg quarantine`."""
        wid = H.new_webhook_id()
        r = self.d.post(b'{"id": 1, "updated_at": ', webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        rows = table(self.ok("quarantine"))
        return next(row for row in rows if row["WEBHOOK"] == wid)

    def test_quarantine_list(self):
        entry = self.quarantine_bad_delivery()
        self.assertEqual(entry["TOPIC"], "orders/create")
        self.assertEqual(entry["SHOP"], H.SHOP)
        self.assertEqual(entry["BYTES"], "24")
        self.assertEqual(json.loads(self.ok("quarantine", "--json")), self.d.quarantine().json())

    def test_quarantine_retry(self):
        entry = self.quarantine_bad_delivery()
        rc, out, err = self.shopseg("quarantine", "retry", entry["ID"])
        self.assertEqual(rc, 1, err)  # the body is still undecodable
        self.assertEqual(record(out)["outcome"], "quarantined")
        self.assertIn("still quarantined", err)
        rc, _, err = self.shopseg("quarantine", "retry", "999999999")
        self.assertEqual(rc, 3, err)

    def test_reload(self):
        out = self.ok("reload")
        self.assertEqual(out, "reload: reloading\n")
        self.assertEqual(json.loads(self.ok("reload", "--json")), {"status": "reloading"})

    def test_reload_of_an_invalid_config_prints_its_errors(self):
        with open(self.d.config_path) as f:
            good = f.read()
        try:
            with open(self.d.config_path, "w") as f:
                f.write(good + "\n[[segment]]\nname = \"broken\"\nquery = \"amount_spent >\"\n")
            rc, out, err = self.shopseg("reload")
            self.assertEqual(rc, 1, err)
            self.assertEqual(out, "")
            self.assertTrue(err.startswith("shopseg: reload: "), err)
            self.assertRegex(err, r"\n  \S+:\d+:\d+: ")  # each config error, file:line:col
        finally:
            with open(self.d.config_path, "w") as f:
                f.write(good)

    def test_health(self):
        h = record(self.ok("health"))
        self.assertEqual(h["status"], "ok")
        self.assertEqual(h["listeners.query_socket"], self.d.query_sock)
        self.assertEqual(h["store.ok"], "true")
        self.assertEqual(json.loads(self.ok("health", "--json"))["status"], "ok")

    def test_degraded_health_prints_the_silent_shop_and_exits_1(self):
        d = H.Daemon()  # the default config: silence_alert_minutes = 60
        self.addCleanup(d.cleanup)
        d.start()
        self.buy(nid(), 10, daemon=d)
        d.stop()
        d.env["SHOPSEGD_TEST_CLOCK_OFFSET_MS"] = str(3 * 3600 * 1000)  # three quiet hours later
        d.start()
        rc, out, err = self.shopseg("--socket", d.query_sock, "health")
        self.assertEqual(rc, 1, err)
        self.assertEqual(err, "shopseg: health: degraded\n")
        self.assertEqual(record(out)["status"], "degraded")
        silent = table(out.split("\n\n", 1)[1])
        self.assertEqual(silent[0]["SILENT SHOP"], H.SHOP)
        self.assertGreaterEqual(int(silent[0]["MINUTES"]), 180)
        rc, out, _ = self.shopseg("--socket", d.query_sock, "health", "--json")
        self.assertEqual(rc, 1)
        self.assertEqual(json.loads(out)["silent_shops"][0]["shop"], H.SHOP)

    # -- exit codes

    def test_not_found_is_3(self):
        rc, out, err = self.shopseg("customer", H.SHOP, str(nid()))
        self.assertEqual(rc, 3)
        self.assertEqual(out, "")
        self.assertRegex(err, r"^shopseg: customer %s \d+: no such customer\n$" % re.escape(H.SHOP))

    def test_unreachable_socket_is_4_with_the_path(self):
        path = os.path.join(self.d.dir, "no-daemon-here.sock")
        rc, _, err = self.shopseg("--socket", path, "segments", sockets=False)
        self.assertEqual(rc, 4)
        self.assertIn(path, err)
        self.assertIn("No such file or directory", err)
        # the environment names the socket when --socket is absent
        rc, _, err = self.shopseg("segments", sockets=False, env={"SHOPSEG_SOCKET": path})
        self.assertEqual(rc, 4)
        self.assertIn(path, err)

    def test_stale_socket_file_is_4(self):
        path = os.path.join(self.d.dir, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)  # a socket file nobody listens on, as a crashed daemon leaves it
        s.close()
        rc, _, err = self.shopseg("--socket", path, "customer", H.SHOP, "1")
        self.assertEqual(rc, 4)
        self.assertIn(path + ": Connection refused", err)

    def test_permission_denied_on_the_socket_is_5(self):
        if os.geteuid() == 0:
            # root passes every permission check: ask as nobody, who may not enter the
            # daemon's 0700 temp dir
            def as_nobody():
                os.setgid(65534)
                os.setuid(65534)
            path, preexec = self.d.query_sock, as_nobody
        else:
            locked = os.path.join(self.d.dir, "locked")
            os.mkdir(locked, 0)
            self.addCleanup(os.rmdir, locked)
            path, preexec = os.path.join(locked, "query.sock"), None
        try:
            p = subprocess.run([H.SHOPSEG, "--socket", path, "segments"], capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT, preexec_fn=preexec)
        except PermissionError:
            self.skipTest("nobody may not execute %s here" % H.SHOPSEG)
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertEqual(p.stderr.decode(), "shopseg: segments: %s: Permission denied\n" % path)

    def test_environment_names_the_sockets(self):
        cid = nid()
        self.buy(cid, 10)
        rc, out, err = self.shopseg("customer", H.SHOP, str(cid), sockets=False,
                                    env={"SHOPSEG_SOCKET": self.d.query_sock})
        self.assertEqual(rc, 0, err)
        self.assertEqual(record(out)["id"], str(cid))

    def test_admin_route_on_the_query_socket_is_5(self):
        rc, out, err = self.shopseg("--admin-socket", self.d.query_sock, "quarantine")
        self.assertEqual(rc, 5, err)
        self.assertIn("admin socket", err)
        rc, _, err = self.shopseg("--admin-socket", self.d.query_sock, "reload")
        self.assertEqual(rc, 5, err)

    def test_usage_errors_are_2(self):
        for args in (["customer", H.SHOP, "12x"], ["customer", H.SHOP], ["no-such-command"],
                     [], ["lookup", H.SHOP], ["members", "silver", "--limit", "0"],
                     ["watch", "--after", "-1"], ["customer", H.SHOP, "010", "--bogus"]):
            rc, out, err = self.shopseg(*args)
            self.assertEqual(rc, 2, (args, err))
            self.assertTrue(err.startswith("shopseg: usage: "), (args, err))
            self.assertEqual(out, "")

    def test_help_documents_the_exit_codes(self):
        out = self.ok("--help", sockets=False)
        for code in range(6):
            self.assertRegex(out, r"\n  %d  \S" % code)
        self.assertIn("SHOPSEG_SOCKET", out)


if __name__ == "__main__":
    H.main()

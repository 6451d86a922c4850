"""Storage faults and secrets in answers.

A full disk gives 503s and a clear log line, and ingest recovers by itself when space returns,
with every delivery answered 200 stored (a 4 MB tmpfs, so root only). A corrupt or foreign database file is refused at start with a clear message and exit 1 (and
left as it was); no answer of the daemon (health, metrics, errors of either listener) ever
contains a configured secret.
"""

import itertools
import os
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import harness as H


class RefusedStore(unittest.TestCase):
    def setUp(self):
        self.d = H.Daemon()

    def tearDown(self):
        self.d.cleanup()

    def assert_refused(self, original):
        with self.assertRaisesRegex(RuntimeError, "exited with 1"):
            self.d.start()
        self.assertIn("refusing to start", self.d.stderr_text())
        with open(self.d.db_path, "rb") as f:
            self.assertEqual(f.read(), original, "the refused file was changed")

    def test_a_file_that_is_not_a_database_is_refused(self):
        garbage = b"this is not an SQLite database, just some bytes\n" * 200
        with open(self.d.db_path, "wb") as f:
            f.write(garbage)
        self.assert_refused(garbage)

    def test_a_foreign_sqlite_database_is_refused(self):
        db = sqlite3.connect(self.d.db_path)
        db.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total TEXT)")
        db.execute("INSERT INTO invoices VALUES (1, '10.00')")
        db.commit()
        db.close()
        with open(self.d.db_path, "rb") as f:
            original = f.read()
        self.assert_refused(original)

    def test_a_shopseg_database_with_a_corrupt_page_is_refused(self):
        self.d.start()
        self.d.stop()
        with open(self.d.db_path, "r+b") as f:
            f.seek(0)
            f.write(b"\xff" * 100)  # the header: magic string, page size, schema cookie
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.d.db_path + suffix):
                os.remove(self.d.db_path + suffix)
        with open(self.d.db_path, "rb") as f:
            original = f.read()
        self.assert_refused(original)


_ids = itertools.count(9_500_000_001)


class DiskFull(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a small tmpfs needs root")
        self.mnt = tempfile.mkdtemp(prefix="shopseg-full-")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.mnt],
                           capture_output=True)
        if p.returncode != 0:
            os.rmdir(self.mnt)
            self.skipTest("cannot mount a tmpfs here: %s" % p.stderr.decode().strip())
        self.d = H.Daemon(workdir=self.mnt)

    def tearDown(self):
        self.d.cleanup()
        subprocess.run(["umount", self.mnt])
        shutil.rmtree(self.mnt, ignore_errors=True)

    def post(self, acked):
        oid = next(_ids)
        body = H.order_payload(oid, 100, H.ts(3), customer=H.customer_obj(oid + 1))
        body["note"] = "x" * 2000  # raw bodies are kept: each delivery takes room
        status = self.d.post(body).status
        if status == 200:
            acked.append(oid)
        return status

    def fill(self):
        """Fills the filesystem with a file; returns its path."""
        filler = os.path.join(self.mnt, "filler")
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        return filler

    def test_disk_full_gives_503_then_recovers_by_itself(self):
        self.d.start()
        acked = []
        for _ in range(20):
            self.assertEqual(self.post(acked), 200)
        filler = self.fill()
        statuses = [self.post(acked) for _ in range(300)]
        self.assertIn(503, statuses, "no 503 with the disk full")
        self.assertIn("disk is full", self.d.stderr_text())
        self.assertEqual(self.d.proc.poll(), None, "the daemon exited on a full disk")
        os.remove(filler)
        statuses = [self.post(acked) for _ in range(20)]
        self.assertEqual(statuses[-5:], [200] * 5, "ingest did not recover: %s" % statuses)
        for oid in acked:
            self.assertEqual(self.d.order(oid).status, 200, "order %d answered 200 is missing" % oid)
        # and after a restart, from the file
        self.d.stop()
        self.d.start()
        for oid in acked:
            self.assertEqual(self.d.order(oid).status, 200, "order %d lost over a restart" % oid)


class NoSecretsInAnswers(H.DaemonTestCase):
    SECRETS = (H.SECRET_1, H.SECRET_2, H.SHOP_KEY)

    def assert_no_secret(self, what, data):
        for secret in self.SECRETS:
            self.assertNotIn(secret.encode(), data, "%s shows a secret" % what)

    def test_health_metrics_and_errors_hold_no_secret(self):
        body = H.dumps(H.order_payload(9_300_000_001, 100, H.ts(3)))
        self.daemon.post_ok(self, body)
        self.assertEqual(self.daemon.post(body, secret="wrong-secret").status, 401)
        answers = {
            "health": self.daemon.query("/v1/health"),
            "metrics": self.daemon.query("/metrics"),
            "admin health": self.daemon.query("/v1/health", admin=True),
            "unknown route": self.daemon.query("/v1/secrets"),
            "bad id": self.daemon.query("/v1/customers/%s/not-a-number" % H.SHOP),
            "admin route on query socket": self.daemon.query("/v1/quarantine"),
            "reload": H.unix_request(self.daemon.admin_sock, "POST", "/v1/reload"),
            "401": self.daemon.post(body, secret="wrong-secret"),
            "400": self.daemon.http("POST", "/webhooks", body,
                                    {"X-Shopify-Hmac-Sha256": H.sign(body)}),
            "404": self.daemon.http("POST", "/other", body),
        }
        for what, r in answers.items():
            self.assert_no_secret(what, r.body)
            self.assert_no_secret(what + " headers", repr(r.headers).encode())
        self.assertEqual(answers["401"].status, 401)
        self.assertEqual(answers["400"].status, 400)
        self.assertEqual(answers["health"].status, 200)
        self.assertIn(b"shopseg_", answers["metrics"].body)
        self.assert_no_secret("log", self.daemon.stderr_text().encode())


if __name__ == "__main__":
    H.main()

"""`shopseg backup FILE`: an online copy of the store taken while a client posts deliveries.

The copy must pass SQLite's integrity_check and hold every delivery answered 200 before the
backup started; a daemon started on the copy answers for them. The route exists on the admin
socket only, refuses relative paths and existing files (unless --force).
"""

import datetime
import itertools
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import unittest

import harness as H

_ids = itertools.count(7_100_000_001)


def post_order(daemon, oid):
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    body = H.order_payload(oid, 1234, when, customer=H.customer_obj(oid + 1))
    return daemon.post(body).status


class BackupTest(H.DaemonTestCase):
    def shopseg(self, *args):
        p = subprocess.run([H.SHOPSEG, "--socket", self.daemon.query_sock, "--admin-socket",
                            self.daemon.admin_sock] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)
        return p.returncode, p.stdout.decode(), p.stderr.decode()

    def test_backup_while_posting_holds_every_acknowledged_delivery(self):
        acked, stop = [], threading.Event()

        def poster():
            while not stop.is_set():
                oid = next(_ids)
                if post_order(self.daemon, oid) == 200:
                    acked.append(oid)

        for _ in range(50):  # a store with something in it before the poster starts
            oid = next(_ids)
            self.assertEqual(post_order(self.daemon, oid), 200)
            acked.append(oid)
        threads = [threading.Thread(target=poster) for _ in range(4)]
        for t in threads:
            t.start()
        out_dir = tempfile.mkdtemp(prefix="shopseg-backup-")
        try:
            while len(acked) < 300:
                threading.Event().wait(0.01)
            before = list(acked)  # acknowledged before the backup started
            copy = os.path.join(out_dir, "shopseg.db")
            rc, out, err = self.shopseg("backup", copy)
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(rc, 0, err)
            self.assertIn("bytes", out)
            db = sqlite3.connect("file:%s?mode=ro" % copy, uri=True)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            db.close()
            self.assertFalse(os.path.exists(copy + ".partial"))
            # A daemon on the copy answers for every delivery acknowledged before the backup.
            copy_daemon = H.Daemon(workdir=out_dir)
            copy_daemon.start()
            try:
                for oid in before:
                    r = copy_daemon.order(oid)
                    self.assertEqual(r.status, 200, "order %d acknowledged before the backup is missing" % oid)
            finally:
                copy_daemon.stop()
        finally:
            stop.set()
            for t in threads:
                t.join()
            shutil.rmtree(out_dir, ignore_errors=True)

    def test_existing_file_refused_unless_forced(self):
        out_dir = tempfile.mkdtemp(prefix="shopseg-backup-")
        try:
            copy = os.path.join(out_dir, "existing.db")
            with open(copy, "wb") as f:
                f.write(b"keep me")
            rc, _, err = self.shopseg("backup", copy)
            self.assertEqual(rc, 1, err)
            self.assertIn("force", err)
            with open(copy, "rb") as f:
                self.assertEqual(f.read(), b"keep me")
            rc, _, err = self.shopseg("backup", "--force", copy)
            self.assertEqual(rc, 0, err)
            db = sqlite3.connect("file:%s?mode=ro" % copy, uri=True)
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            db.close()
        finally:
            shutil.rmtree(out_dir, ignore_errors=True)

    def test_relative_path_and_query_socket_refused(self):
        r = H.unix_request(self.daemon.admin_sock, "POST", "/v1/backup?path=relative.db")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "bad_path")
        r = H.unix_request(self.daemon.query_sock, "POST", "/v1/backup?path=/tmp/never-written.db")
        self.assertIn(r.status, (403, 404))
        self.assertFalse(os.path.exists("/tmp/never-written.db"))


if __name__ == "__main__":
    H.main()

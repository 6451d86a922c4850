"""Import records and webhooks in any order give one state, through the real daemon and client.

Random sets of customer and order records (fields left out or sent as null, shared versions,
orders moving between customers, stale versions, deletes) are delivered to fresh daemons:
all as webhooks, the importable ones imported first (bulk-operation JSONL or REST lines) and the
rest as webhooks, the reverse, and shuffled with consecutive import records in one file per
`shopseg import` run. Customers (profile, aggregates, tier, segments), orders and the segment
counts must be the same every time (docs/profile_versions.md)."""

import json
import os
import random
import subprocess
import tempfile
import unittest

import harness as H

SEEDS = range(1, 9)
RUN_TIMEOUT = 120  # a bound on one client run, not an assert
CUSTOMERS = [7_200_000_000_000_001 + i for i in range(3)]
ORDERS = [6_200_000_000_000_001 + i for i in range(4)]
FIELDS = {"email": "email", "phone": "phone", "first_name": "firstName", "last_name": "lastName",
          "state": "state"}


def shipped_segments():
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                           "config.example.toml")) as f:
        text = f.read()
    return text[text.index("[[segment]]"):]


def stamp(day):
    return "2026-10-%02dT12:00:00Z" % day


def profile(rng, cid):
    """A customer's fields as one record has them: some left out, some null (the same)."""
    values = {"email": lambda: "E%d@Example.com" % rng.randint(0, 1),
              "phone": lambda: "+1555010%d" % rng.randint(0, 1),
              "first_name": lambda: "F%d" % rng.randint(0, 1),
              "last_name": lambda: "L%d" % rng.randint(0, 1),
              "state": lambda: rng.choice(["enabled", "disabled"])}
    out = {"id": cid, "updated_at": stamp(rng.randint(1, 3))}
    for name in FIELDS:
        if rng.random() < 0.55:
            out[name] = values[name]()
        elif rng.random() < 0.5:
            out[name] = None
    if rng.random() < 0.5:
        out["tags"] = ", ".join(rng.sample(["vip", "wholesale", "press"], rng.randint(0, 2)))
    return out


def bulk_customer_line(c):
    line = {"id": "gid://shopify/Customer/%d" % c["id"], "updatedAt": c["updated_at"]}
    for name, gql in FIELDS.items():
        if name in c:
            line[gql] = c[name].upper() if name == "state" and c[name] else c[name]
    if "tags" in c:
        line["tags"] = [t.strip() for t in c["tags"].split(",") if t.strip()]
    return line


def bulk_order_line(o):
    """An order nested under its customer (no customer object of its own)."""
    cents = o["cents"]
    return {"id": "gid://shopify/Order/%d" % o["id"], "name": "#%d" % (o["id"] % 10000),
            "email": o["email"], "processedAt": o["processed_at"], "createdAt": o["processed_at"],
            "updatedAt": o["updated_at"], "cancelledAt": None, "test": False,
            "displayFinancialStatus": "PAID",
            "currentTotalPriceSet": {"shopMoney": {"amount": H.money(cents), "currencyCode": "USD"}},
            "__parentId": "gid://shopify/Customer/%d" % o["customer"]["id"]}


def scenario(seed):
    """Records as Shopify could send them: one payload per (order, version)."""
    rng = random.Random(seed)
    records, versions = [], {}
    for _ in range(rng.randint(10, 16)):
        kind = rng.random()
        if kind < 0.35:
            records.append({"kind": "customer", "body": profile(rng, rng.choice(CUSTOMERS)),
                            "bulk": rng.random() < 0.5})
        elif kind < 0.9:
            oid, day = rng.choice(ORDERS), rng.randint(4, 7)
            if (oid, day) not in versions:
                cid = rng.choice(CUSTOMERS)
                bare = rng.random() < 0.4  # the customer by id only, as a bulk child line has it
                customer = {"id": cid} if bare else profile(rng, cid)
                customer.pop("tags", None)
                versions[(oid, day)] = {"id": oid, "customer": customer, "bare": bare,
                                        "updated_at": stamp(day), "cents": rng.randint(1, 9) * 250_000,
                                        "processed_at": stamp(rng.randint(1, 3)),
                                        "email": "o%d@example.com" % rng.randint(0, 1)}
            records.append({"kind": "order", "order": versions[(oid, day)]})
        else:
            records.append({"kind": "delete", "id": rng.choice(ORDERS)})
    for r in records:
        r["imported"] = r["kind"] != "delete" and rng.random() < 0.6
    return records, rng


def webhook(r):
    if r["kind"] == "customer":
        return r["body"], "customers/update"
    if r["kind"] == "delete":
        return {"id": r["id"]}, "orders/delete"
    o = r["order"]
    body = H.order_payload(o["id"], o["cents"], o["updated_at"], processed_at=o["processed_at"],
                           customer={"email": None})
    body["email"], body["customer"] = o["email"], o["customer"]
    return body, "orders/updated"


def import_line(r):
    if r["kind"] == "customer":
        return bulk_customer_line(r["body"]) if r["bulk"] else r["body"]
    o = r["order"]
    return bulk_order_line(o) if o["bare"] else webhook(r)[0]


class ImportOrder(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shopseg-import-order-")
        self.daemons = []
        self.files = 0

    def tearDown(self):
        for d in self.daemons:
            d.cleanup()

    def import_records(self, d, batch):
        if not batch:
            return
        self.files += 1
        path = os.path.join(self.tmp, "part%d.jsonl" % self.files)
        with open(path, "w") as f:
            for r in batch:
                f.write(json.dumps(import_line(r)) + "\n")
        p = subprocess.run([H.SHOPSEG, "--admin-socket", d.admin_sock, "import", "--shop", H.SHOP, path],
                           capture_output=True, text=True, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def deliver(self, records, plan, split):
        d = H.Daemon(extra_config=shipped_segments())
        self.daemons.append(d)
        d.start()
        batch = []
        for i in plan:
            r = records[i]
            if split and r["imported"]:
                batch.append(r)
                continue
            self.import_records(d, batch)
            batch = []
            body, topic = webhook(r)
            d.post_ok(self, body, topic=topic)
        self.import_records(d, batch)
        return self.state(d)

    def state(self, d):
        return H.store_state(d, CUSTOMERS, ORDERS)

    def test_any_order_of_webhooks_and_import_records_gives_one_state(self):
        for seed in SEEDS:
            with self.subTest(seed=seed):
                records, rng = scenario(seed)
                in_order = list(range(len(records)))
                want = self.deliver(records, in_order, split=False)
                imports = [i for i in in_order if records[i]["imported"]]
                webhooks = [i for i in in_order if not records[i]["imported"]]
                self.assertEqual(self.deliver(records, imports + webhooks, split=True), want, "import first")
                self.assertEqual(self.deliver(records, webhooks + imports, split=True), want, "webhooks first")
                shuffled = in_order[:]
                rng.shuffle(shuffled)
                self.assertEqual(self.deliver(records, shuffled, split=True), want, "shuffled")
                for d in self.daemons:
                    d.cleanup()
                self.daemons = []


if __name__ == "__main__":
    H.main()

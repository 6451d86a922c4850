"""A tiny reference model of SPEC §1/§2 ingest semantics for one shop.

It replays the same deliveries the daemon gets: dedup on webhook id, version guard on
updated_at (older or equal changes nothing), tombstones for orders/delete, customers/delete and
customers/redact, and aggregates derived from the order rows.
"""

import datetime

from harness import day_in_chicago


def _parse(t):
    return datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))


def _cents(s):
    neg = s.startswith("-")
    if neg:
        s = s[1:]
    whole, _, frac = s.partition(".")
    frac = (frac + "00")[:2]
    v = int(whole) * 100 + int(frac)
    return -v if neg else v


def _money(c):
    sign = "-" if c < 0 else ""
    c = abs(c)
    return "%s%d.%02d" % (sign, c // 100, c % 100)


class Model:
    def __init__(self):
        self.seen_webhooks = set()
        self.orders = {}            # id -> dict(version, customer_id, cents, counts, day)
        self.order_tombstones = set()
        self.customers = set()      # customers known (nested in an applied order or customers/*)
        self.customer_tombstones = set()

    def apply(self, webhook_id, topic, payload):
        if webhook_id in self.seen_webhooks:
            return
        self.seen_webhooks.add(webhook_id)
        if topic.startswith("orders/") and topic != "orders/delete" and topic != "orders/edited":
            self._upsert_order(payload)
        elif topic == "orders/delete":
            oid = payload["id"]
            self.order_tombstones.add(oid)
            self.orders.pop(oid, None)
        elif topic in ("customers/create", "customers/update"):
            cid = payload["id"]
            if cid not in self.customer_tombstones:
                self.customers.add(cid)
        elif topic in ("customers/delete", "customers/redact"):
            cid = payload["id"] if topic == "customers/delete" else payload["customer"]["id"]
            self.customer_tombstones.add(cid)
            self.customers.discard(cid)
            for oid in [o for o, r in self.orders.items() if r["customer_id"] == cid]:
                del self.orders[oid]
        # refunds/create: amounts change only through the order's own versions

    def _upsert_order(self, p):
        oid = p["id"]
        if oid in self.order_tombstones:
            return
        cust = p.get("customer")
        cid = cust["id"] if cust else None
        if cid is not None and cid in self.customer_tombstones:
            return
        version = _parse(p["updated_at"])
        cur = self.orders.get(oid)
        if cur is not None and version <= cur["version"]:
            return
        s = p.get("current_total_price_set")
        amount = s["shop_money"]["amount"] if s else p["current_total_price"]
        counts = not (p.get("test") or p.get("cancelled_at")
                      or p.get("financial_status") == "voided")
        self.orders[oid] = {"version": version, "customer_id": cid, "cents": _cents(amount),
                            "counts": counts, "day": day_in_chicago(p["processed_at"])}
        if cid is not None:
            self.customers.add(cid)

    def aggregates(self, cid):
        rows = [r for r in self.orders.values() if r["customer_id"] == cid and r["counts"]]
        if not rows:
            return {"amount_spent": "0.00", "number_of_orders": 0, "first_order_date": None,
                    "last_order_date": None, "largest_order_amount": None}
        return {
            "amount_spent": _money(sum(r["cents"] for r in rows)),
            "number_of_orders": len(rows),
            "first_order_date": min(r["day"] for r in rows),
            "last_order_date": max(r["day"] for r in rows),
            "largest_order_amount": _money(max(r["cents"] for r in rows)),
        }

    # The segments of SEGMENTS_TOML (test_reference_model.py), evaluated the plain way.
    def segments(self, cid):
        a = self.aggregates(cid)
        if a["number_of_orders"] == 0:
            return None, set()
        spent = _cents(a["amount_spent"])
        largest = _cents(a["largest_order_amount"])
        n = a["number_of_orders"]
        rows = [r for r in self.orders.values() if r["customer_id"] == cid and r["counts"]]
        buyers = {}
        for r in self.orders.values():
            if r["counts"] and r["customer_id"] is not None:
                buyers[r["customer_id"]] = buyers.get(r["customer_id"], 0) + r["cents"]
        less = sum(1 for v in buyers.values() if v < spent)
        window = sum(r["cents"] for r in rows if "2026-01-05" <= r["day"] <= "2026-01-20")
        matches = {
            "platinum": spent > 800000,
            "gold": spent > 400000 or n >= 3,
            "silver": largest > 250000,
            "first-time": n == 1,
            "repeat": n >= 2,
            "high-value": 100 * less >= 80 * len(buyers),
            "recent": a["last_order_date"] >= "2026-01-15",
            "window": window > 300000,
        }
        tier = next((t for t in ("platinum", "gold", "silver") if matches[t]), None)
        members = {k for k, v in matches.items() if v and k not in ("platinum", "gold", "silver")}
        if tier:
            members.add(tier)
        return tier, members

    def order_view(self, oid):
        r = self.orders.get(oid)
        if r is None:
            return None
        return {"customer_id": r["customer_id"], "amount": _money(r["cents"]),
                "counts": r["counts"]}

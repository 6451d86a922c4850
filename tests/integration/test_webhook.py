"""Webhook endpoint of SPEC §1, query/admin sockets of SPEC §4, promises of SPEC §8,
driven through the real shopsegd binary."""

import itertools
import json
import os
import random
import socket
import stat
import time
import unittest

import harness as H
from harness import SHOP, OTHER_SHOP, money, ts

_ids = itertools.count(random.Random().randrange(10**9, 2 * 10**9) * 1000)


def nid():
    return next(_ids)


def simple_order(test, d, oid=None, cid=None, cents=1234, day=5, **kw):
    oid = oid if oid is not None else nid()
    cid = cid if cid is not None else nid()
    cust = H.customer_obj(cid)
    return oid, cid, H.order_payload(oid, cents, ts(day), customer=cust, **kw)


class WebhookAnswers(H.DaemonTestCase):
    """Every answer of SPEC §1, in its stated order."""

    def good(self):
        oid, cid, o = simple_order(self, self.daemon)
        return cid, H.dumps(o)

    def assertNotStored(self, cid):
        r = self.daemon.customer(cid)
        self.assertEqual(r.status, 404, "refused delivery was stored: %r" % (r,))

    def test_200_valid_delivery_is_queryable(self):
        cid, body = self.good()
        r = self.daemon.post(body)
        self.assertEqual(r.status, 200, r)
        c = self.daemon.customer(cid)
        self.assertEqual(c.status, 200, c)
        self.assertEqual(c.json()["amount_spent"], "12.34")

    def test_404_other_path_even_with_good_hmac(self):
        cid, body = self.good()
        for path in ("/", "/webhook", "/webhooks/x", "/v1/health", "/webhooksx"):
            r = self.daemon.post(body, path=path)
            self.assertEqual(r.status, 404, "%s -> %r" % (path, r))
        self.assertNotStored(cid)

    def test_404_before_401(self):
        cid, body = self.good()
        r = self.daemon.post(body, path="/nope", hmac_value="AAAA")
        self.assertEqual(r.status, 404, r)

    def test_405_other_method_on_path(self):
        cid, body = self.good()
        for method in ("GET", "PUT", "DELETE", "PATCH"):
            h = H.webhook_headers(body)
            r = self.daemon.http(method, "/webhooks", body if method != "GET" else b"", h)
            self.assertEqual(r.status, 405, "%s -> %r" % (method, r))
        self.assertNotStored(cid)

    def test_413_body_over_limit_before_401(self):
        big = b'{"id":1,"pad":"' + b"x" * (H.DEFAULT_MAX_BODY + 100) + b'"}'
        r = self.daemon.post(big)
        self.assertEqual(r.status, 413, r)
        r = self.daemon.post(big, hmac_value="bm90IHRoZSBobWFj")
        self.assertEqual(r.status, 413, r)
        r = self.daemon.post(big, omit=("Shopify-Topic",))
        self.assertEqual(r.status, 413, r)

    def test_body_at_limit_is_accepted(self):
        oid, cid, o = simple_order(self, self.daemon)
        body = H.dumps(o)
        pad = H.DEFAULT_MAX_BODY - len(body)
        body = body[:-1] + b"}"  # unchanged; pad with JSON whitespace up to the limit
        body = body + b" " * pad
        self.assertEqual(len(body), H.DEFAULT_MAX_BODY)
        r = self.daemon.post(body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.daemon.customer(cid).status, 200)

    def test_401_bad_or_missing_hmac(self):
        cid, body = self.good()
        r = self.daemon.post(body, hmac_value="bm90IHRoZSBobWFj")
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, omit=("Shopify-Hmac-Sha256",))
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, hmac_value="")
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, secret="wrong-secret")
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, hmac_value="%%%not-base64%%%")
        self.assertEqual(r.status, 401, r)
        # signature of a different body
        r = self.daemon.post(body, hmac_value=H.sign(body + b" "))
        self.assertEqual(r.status, 401, r)
        # hex instead of base64
        import hashlib
        import hmac
        hexsig = hmac.new(H.SECRET_1.encode(), body, hashlib.sha256).hexdigest()
        r = self.daemon.post(body, hmac_value=hexsig)
        self.assertEqual(r.status, 401, r)
        self.assertNotStored(cid)

    def test_401_before_400(self):
        cid, body = self.good()
        r = self.daemon.post(body, hmac_value="bm90IHRoZSBobWFj", omit=("Shopify-Topic",))
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, omit=("Shopify-Hmac-Sha256", "Shopify-Topic",
                                         "Shopify-Shop-Domain", "Shopify-Webhook-Id"))
        self.assertEqual(r.status, 401, r)

    def test_400_missing_required_header(self):
        cid, body = self.good()
        for h in ("Shopify-Topic", "Shopify-Shop-Domain", "Shopify-Webhook-Id"):
            r = self.daemon.post(body, omit=(h,))
            self.assertEqual(r.status, 400, "without %s -> %r" % (h, r))
        self.assertNotStored(cid)

    def test_optional_headers_not_required(self):
        cid, body = self.good()
        r = self.daemon.post(body, omit=("Shopify-API-Version", "Shopify-Triggered-At"))
        self.assertEqual(r.status, 200, r)

    def test_header_prefix_and_case_variants(self):
        variants = [
            lambda k: "X-" + k,
            lambda k: k,                      # without X-
            lambda k: ("x-" + k).lower(),
            lambda k: ("X-" + k).upper(),
            lambda k: k.lower(),
            lambda k: k.upper(),
        ]
        for i, v in enumerate(variants):
            oid, cid, o = simple_order(self, self.daemon, cents=100 + i)
            body = H.dumps(o)
            base = H.webhook_headers(body, prefix="")
            h = {}
            for k, val in base.items():
                h[v(k) if k.startswith("Shopify-") else k] = val
            r = self.daemon.http("POST", "/webhooks", body, h)
            self.assertEqual(r.status, 200, "variant %d %r -> %r" % (i, list(h), r))
            c = self.daemon.customer(cid)
            self.assertEqual(c.status, 200, "variant %d: %r" % (i, c))
            self.assertEqual(c.json()["amount_spent"], money(100 + i))

    def test_secret_rotation(self):
        oid, cid, o = simple_order(self, self.daemon)
        r = self.daemon.post(o, secret=H.SECRET_2)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.daemon.customer(cid).status, 200)
        oid, cid, o = simple_order(self, self.daemon)
        r = self.daemon.post(o, secret=H.SHOP_KEY)
        self.assertEqual(r.status, 200, "shop's own signing key refused: %r" % (r,))
        self.assertEqual(self.daemon.customer(cid).status, 200)

    def test_shop_key_does_not_verify_other_shop(self):
        oid, cid, o = simple_order(self, self.daemon)
        r = self.daemon.post(o, secret=H.SHOP_KEY, shop=OTHER_SHOP)
        self.assertEqual(r.status, 401, "a shop's key signed another shop's delivery: %r" % (r,))
        self.assertEqual(self.daemon.customer(cid, shop=OTHER_SHOP).status, 404)

    def test_duplicate_delivery_changes_nothing(self):
        oid, cid, o = simple_order(self, self.daemon, cents=5000)
        wid = H.new_webhook_id()
        self.daemon.post_ok(self, o, webhook_id=wid)
        before = self.daemon.customer(cid).json()
        # same id, same body
        self.daemon.post_ok(self, o, webhook_id=wid)
        # same id, a newer body: still a duplicate of (shop, webhook id)
        o2 = dict(o, updated_at=ts(6), current_total_price="99.00")
        o2["current_total_price_set"] = {"shop_money": {"amount": "99.00", "currency_code": "USD"}}
        self.daemon.post_ok(self, o2, webhook_id=wid)
        after = self.daemon.customer(cid).json()
        self.assertEqual(after["amount_spent"], "50.00")
        self.assertEqual(after["number_of_orders"], 1)
        self.assertEqual(before["amount_spent"], after["amount_spent"])
        # the same webhook id from another shop is not a duplicate
        self.daemon.post_ok(self, o2, webhook_id=wid, shop=OTHER_SHOP)
        other = self.daemon.customer(cid, shop=OTHER_SHOP)
        self.assertEqual(other.status, 200, other)
        self.assertEqual(other.json()["amount_spent"], "99.00")
        self.assertEqual(self.daemon.customer(cid).json()["amount_spent"], "50.00")

    def test_slow_client_does_not_hold_daemon(self):
        s = socket.create_connection((self.daemon.host, self.daemon.port))
        try:
            s.sendall(b"POST /webhooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n")
            cid, body = self.good()
            r = self.daemon.post(body)
            self.assertEqual(r.status, 200, r)
        finally:
            s.close()

    def test_garbage_request_does_not_kill_daemon(self):
        s = socket.create_connection((self.daemon.host, self.daemon.port))
        try:
            s.sendall(b"\x00\xff\xfe NOT HTTP AT ALL\r\n\r\n" * 10)
            s.settimeout(10)
            try:
                s.recv(4096)
            except OSError:
                pass
        finally:
            s.close()
        cid, body = self.good()
        self.assertEqual(self.daemon.post(body).status, 200)


class AllowedShops(H.DaemonTestCase):
    daemon_kwargs = {"allowed_shops": [SHOP]}

    def test_403_shop_not_allowed(self):
        oid, cid, o = simple_order(self, self.daemon)
        r = self.daemon.post(o, shop=OTHER_SHOP)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(self.daemon.customer(cid, shop=OTHER_SHOP).status, 404)
        r = self.daemon.post(o, shop=SHOP)
        self.assertEqual(r.status, 200, r)

    def test_order_401_400_before_403(self):
        oid, cid, o = simple_order(self, self.daemon)
        body = H.dumps(o)
        r = self.daemon.post(body, shop=OTHER_SHOP, hmac_value="bm90IHRoZSBobWFj")
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(body, shop=OTHER_SHOP, omit=("Shopify-Topic",))
        self.assertEqual(r.status, 400, r)
        r = self.daemon.post(body, shop=OTHER_SHOP, omit=("Shopify-Webhook-Id",))
        self.assertEqual(r.status, 400, r)
        r = self.daemon.post(body, shop=OTHER_SHOP, path="/other")
        self.assertEqual(r.status, 404, r)


class Quarantine(H.DaemonTestCase):

    def listed(self):
        r = self.daemon.quarantine()
        self.assertEqual(r.status, 200, r)
        q = r.json()["quarantine"]
        return {e["webhook_id"]: e for e in q}

    def check_quarantined(self, body, topic="orders/create"):
        wid = H.new_webhook_id()
        r = self.daemon.post(body, topic=topic, webhook_id=wid)
        self.assertEqual(r.status, 200, r)
        q = self.listed()
        self.assertIn(wid, q, "verified bad delivery not in quarantine")
        e = q[wid]
        for k in ("id", "shop", "webhook_id", "topic", "reason", "received_at"):
            self.assertIn(k, e)
        self.assertEqual(e["shop"], SHOP)
        self.assertEqual(e["topic"], topic)
        self.assertTrue(e["reason"])
        return e

    def test_bad_json(self):
        self.check_quarantined(b'{"id": 1, "updated_at": ')
        self.check_quarantined(b'{"id": 2, "updated_at": "2026-01-05T10:00:00-06:00"} trailing')
        self.check_quarantined(b'[1,2,3]')
        self.check_quarantined(b'')

    def test_missing_order_id(self):
        oid, cid, o = simple_order(self, self.daemon)
        del o["id"]
        self.check_quarantined(H.dumps(o))
        self.assertEqual(self.daemon.customer(cid).status, 404)

    def test_missing_updated_at(self):
        oid, cid, o = simple_order(self, self.daemon)
        del o["updated_at"]
        self.check_quarantined(H.dumps(o))
        self.assertEqual(self.daemon.order(oid).status, 404)

    def test_invalid_utf8(self):
        oid, cid, o = simple_order(self, self.daemon)
        body = H.dumps(o).replace(b'"Ann"', b'"A\xff\xfenn"')
        self.assertIn(b"\xff", body)
        self.check_quarantined(body)
        self.assertEqual(self.daemon.order(oid).status, 404)

    def test_unknown_topic_answered_200(self):
        r = self.daemon.post(b'{"id": 5}', topic="products/create")
        self.assertEqual(r.status, 200, r)

    def test_query_socket_refuses_quarantine(self):
        r = self.daemon.query("/v1/quarantine")
        self.assertIn(r.status, (403, 404), r)
        self.assertNotIn(b"webhook_id", r.body)

    def test_no_pii_in_log_for_quarantined_body(self):
        oid, cid, o = simple_order(self, self.daemon)
        o["customer"]["email"] = "quarantine-pii-%d@example.com" % cid
        body = H.dumps(o)[:-5]  # truncated JSON
        self.check_quarantined(body)
        time.sleep(0.3)
        self.assertNotIn(o["customer"]["email"], self.daemon.stderr_text())


class Queries(H.DaemonTestCase):

    def test_health(self):
        r = self.daemon.query("/v1/health")
        self.assertEqual(r.status, 200, r)
        self.assertIn("status", r.json())
        r = self.daemon.query("/v1/health", admin=True)
        self.assertEqual(r.status, 200, r)

    def test_unknown_customer_404(self):
        r = self.daemon.customer(nid())
        self.assertEqual(r.status, 404, r)
        err = r.json()["error"]
        self.assertEqual(err["code"], "not_found")
        self.assertIsInstance(err["message"], str)

    def test_unknown_order_404(self):
        r = self.daemon.order(nid())
        self.assertEqual(r.status, 404, r)
        self.assertEqual(r.json()["error"]["code"], "not_found")

    def test_socket_modes(self):
        q = stat.S_IMODE(os.stat(self.daemon.query_sock).st_mode)
        a = stat.S_IMODE(os.stat(self.daemon.admin_sock).st_mode)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.daemon.query_sock).st_mode))
        self.assertEqual(q, 0o660, oct(q))
        self.assertEqual(a, 0o600, oct(a))

    def test_customer_answer_shape(self):
        cid = nid()
        cust = H.customer_obj(cid, email="Shape.Test@Example.com", first_name="Ann",
                              last_name="Shape", phone="+15555550100",
                              tags="Race-Team, VIP, early adopter",
                              updated_at=ts(4), created_at=ts(3))
        self.daemon.post_ok(self, cust, topic="customers/create", api_version="2024-10")
        nested = H.customer_obj(cid, email="Shape.Test@Example.com", first_name="Ann",
                                last_name="Shape", phone="+15555550100")
        o1 = H.order_payload(nid(), 1010, ts(5), customer=nested)
        o2 = H.order_payload(nid(), 2020, ts(7), customer=nested)
        self.daemon.post_ok(self, o1)
        self.daemon.post_ok(self, o2)
        r = self.daemon.customer(cid)
        self.assertEqual(r.status, 200, r)
        c = r.json()
        self.assertEqual(c["shop"], SHOP)
        self.assertEqual(c["id"], cid)
        self.assertEqual(c["email"].lower(), "shape.test@example.com")
        self.assertEqual(c["first_name"], "Ann")
        self.assertEqual(c["last_name"], "Shape")
        self.assertEqual(c["phone"], "+15555550100")
        self.assertEqual(c["state"], "enabled")
        self.assertEqual(c["tags"], ["early adopter", "race-team", "vip"])
        self.assertEqual(c["amount_spent"], "30.30")
        self.assertEqual(c["currency"], "USD")
        self.assertEqual(c["number_of_orders"], 2)
        self.assertEqual(c["first_order_date"], "2026-01-05")
        self.assertEqual(c["last_order_date"], "2026-01-07")
        self.assertEqual(c["largest_order_amount"], "20.20")
        self.assertIn("tier", c)
        self.assertIsNone(c["tier"])
        self.assertEqual(c["segments"], [])
        self.assertIsInstance(c["service"], dict)
        self.assertEqual(c["service"].get("priority"), "normal")
        self.assertEqual(c["service"].get("response_minutes"), 240)
        for k in ("as_of", "updated_at", "shopify_amount_spent", "shopify_number_of_orders"):
            self.assertIn(k, c)
        self.assertIsInstance(c["as_of"], str)

    def test_admin_socket_serves_query_routes(self):
        oid, cid, o = simple_order(self, self.daemon)
        self.daemon.post_ok(self, o)
        self.assertEqual(self.daemon.customer(cid, admin=True).status, 200)
        self.assertEqual(self.daemon.order(oid, admin=True).status, 200)

    def test_fixture_orders_create_roundtrip(self):
        body = H.fixture_bytes("orders_create.json")
        self.daemon.post_ok(self, body, topic="orders/create", api_version="2025-01")
        r = self.daemon.order(820982911946154508)
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"820982911946154508", r.body)
        self.assertIn(b"115310627314723954", r.body)
        o = r.json()
        self.assertEqual(o["shop"], SHOP)
        self.assertEqual(o["id"], 820982911946154508)
        self.assertEqual(o["customer_id"], 115310627314723954)
        self.assertEqual(o["name"], "#9999")
        self.assertEqual(o["amount"], "414.95")
        self.assertEqual(o["currency"], "USD")
        self.assertIs(o["test"], True)
        self.assertIs(o["cancelled"], True)
        self.assertIs(o["counts"], False)
        c = self.daemon.customer(115310627314723954)
        self.assertEqual(c.status, 200, "customer nested in the order should exist: %r" % (c,))
        c = c.json()
        self.assertEqual(c["id"], 115310627314723954)
        self.assertEqual(c["number_of_orders"], 0)
        self.assertEqual(c["amount_spent"], "0.00")
        self.assertIsNone(c["first_order_date"])

    def test_64bit_ids_and_exact_money(self):
        cid = 2**53 + 1
        oid = 2**63 - 1
        o1 = H.order_payload(oid, 10, ts(5), customer=H.customer_obj(cid))
        o2 = H.order_payload(2**62 + 3, 20, ts(6), customer=H.customer_obj(cid))
        self.daemon.post_ok(self, o1)
        self.daemon.post_ok(self, o2)
        r = self.daemon.customer(cid)
        self.assertEqual(r.status, 200, r)
        self.assertIn(b"9007199254740993", r.body)
        c = r.json()
        self.assertEqual(c["id"], cid)
        self.assertEqual(c["amount_spent"], "0.30")
        r = self.daemon.order(oid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["id"], oid)
        self.assertEqual(r.json()["customer_id"], cid)

    def test_processed_at_day_in_shop_timezone(self):
        cid = nid()
        # 03:30 UTC on Jan 6 is 21:30 on Jan 5 in Chicago
        o = H.order_payload(nid(), 500, "2026-01-06T03:30:00Z", processed_at="2026-01-06T03:30:00Z",
                            customer=H.customer_obj(cid))
        self.daemon.post_ok(self, o)
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["first_order_date"], "2026-01-05")
        self.assertEqual(c["last_order_date"], "2026-01-05")

    def test_net_amount_prefers_shop_money_and_falls_back(self):
        cid = nid()
        o = H.order_payload(nid(), 1000, ts(5), customer=H.customer_obj(cid))
        o["current_total_price"] = "777.77"  # presentment-ish; shop_money must win
        self.daemon.post_ok(self, o)
        o2 = H.order_payload(nid(), 250, ts(6), customer=H.customer_obj(cid), with_set=False)
        self.daemon.post_ok(self, o2)
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "12.50")
        self.assertEqual(c["largest_order_amount"], "10.00")

    def test_non_counting_orders(self):
        cid = nid()
        cu = H.customer_obj(cid)
        posts = [
            H.order_payload(nid(), 100, ts(5), customer=cu),
            H.order_payload(nid(), 200, ts(6), customer=cu, test=True),
            H.order_payload(nid(), 400, ts(7), customer=cu, cancelled_at=ts(7, 11)),
            H.order_payload(nid(), 800, ts(8), customer=cu, financial_status="voided"),
            H.order_payload(nid(), 1600, ts(9), customer=cu, financial_status="pending"),
            H.order_payload(nid(), 0, ts(10), total_cents=3200, customer=cu,
                            financial_status="refunded"),
        ]
        for p in posts:
            self.daemon.post_ok(self, p)
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "17.00")
        self.assertEqual(c["number_of_orders"], 3)
        self.assertEqual(c["first_order_date"], "2026-01-05")
        self.assertEqual(c["last_order_date"], "2026-01-10")
        self.assertEqual(c["largest_order_amount"], "16.00")
        r = self.daemon.order(posts[1]["id"]).json()
        self.assertIs(r["counts"], False)
        self.assertIs(r["test"], True)

    def test_version_guard(self):
        cid, oid = nid(), nid()
        cu = H.customer_obj(cid)
        self.daemon.post_ok(self, H.order_payload(oid, 5000, ts(6), ts(5), customer=cu))
        # older version arriving late
        self.daemon.post_ok(self, H.order_payload(oid, 9000, ts(5, 12), ts(5), customer=cu),
                            topic="orders/updated")
        # equal updated_at, different content
        self.daemon.post_ok(self, H.order_payload(oid, 7000, ts(6), ts(5), customer=cu),
                            topic="orders/updated")
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "50.00")
        # newer: a refund lowers current_total_price
        self.daemon.post_ok(self, H.order_payload(oid, 3000, ts(7), ts(5), total_cents=5000,
                                                  customer=cu), topic="orders/updated")
        self.daemon.post_ok(self, H.refund_payload(nid(), oid, 2000, ts(7)),
                            topic="refunds/create")
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "30.00")
        self.assertEqual(c["number_of_orders"], 1)
        o = self.daemon.order(oid).json()
        self.assertEqual(o["amount"], "30.00")
        # newer cancellation removes it
        self.daemon.post_ok(self, H.order_payload(oid, 3000, ts(8), ts(5), customer=cu,
                                                  cancelled_at=ts(8)), topic="orders/cancelled")
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "0.00")
        self.assertEqual(c["number_of_orders"], 0)
        self.assertIsNone(c["first_order_date"])
        self.assertIsNone(c["last_order_date"])

    def test_guest_order_kept(self):
        oid = nid()
        self.daemon.post_ok(self, H.order_payload(oid, 4200, ts(5), customer=None))
        r = self.daemon.order(oid)
        self.assertEqual(r.status, 200, r)
        o = r.json()
        self.assertIsNone(o["customer_id"])
        self.assertEqual(o["amount"], "42.00")
        self.assertIs(o["counts"], True)

    def test_order_delete_tombstone(self):
        cid, oid, keep = nid(), nid(), nid()
        cu = H.customer_obj(cid)
        self.daemon.post_ok(self, H.order_payload(keep, 100, ts(5), customer=cu))
        self.daemon.post_ok(self, H.order_payload(oid, 900, ts(6), customer=cu))
        self.assertEqual(self.daemon.customer(cid).json()["amount_spent"], "10.00")
        self.daemon.post_ok(self, {"id": oid}, topic="orders/delete")
        self.assertEqual(self.daemon.order(oid).status, 404)
        c = self.daemon.customer(cid).json()
        self.assertEqual(c["amount_spent"], "1.00")
        self.assertEqual(c["last_order_date"], "2026-01-05")
        # a later (even newer) payload for that id changes nothing
        self.daemon.post_ok(self, H.order_payload(oid, 900, ts(9), ts(6), customer=cu),
                            topic="orders/updated")
        self.assertEqual(self.daemon.order(oid).status, 404)
        self.assertEqual(self.daemon.customer(cid).json()["amount_spent"], "1.00")

    def test_customer_delete(self):
        cid, oid = nid(), nid()
        cu = H.customer_obj(cid)
        self.daemon.post_ok(self, H.order_payload(oid, 100, ts(5), customer=cu))
        self.daemon.post_ok(self, {"id": cid}, topic="customers/delete")
        self.assertEqual(self.daemon.customer(cid).status, 404)
        self.assertEqual(self.daemon.order(oid).status, 404)
        # late deliveries for that customer change nothing
        self.daemon.post_ok(self, H.order_payload(nid(), 100, ts(9), customer=cu))
        self.daemon.post_ok(self, dict(cu, updated_at=ts(9)), topic="customers/update")
        self.assertEqual(self.daemon.customer(cid).status, 404)

    def test_customer_redact_erases_every_trace(self):
        cid, oid = nid(), nid()
        email = "redact-me-%d@example.com" % cid
        last = "Zzredactname%d" % cid
        cu = H.customer_obj(cid, email=email, last_name=last, updated_at=ts(4),
                            phone="+1555%07d" % (cid % 10**7))
        self.daemon.post_ok(self, cu, topic="customers/create")
        self.daemon.post_ok(self, H.order_payload(oid, 100, ts(5), customer=cu))
        # the grep below can see the email while it is stored
        self.assertIn(email.encode(), self.daemon.raw_db_bytes())
        self.daemon.post_ok(self, H.redact_payload(cid, email, [oid]), topic="customers/redact")
        self.assertEqual(self.daemon.customer(cid).status, 404)
        self.assertEqual(self.daemon.order(oid).status, 404)
        raw = self.daemon.raw_db_bytes()
        self.assertTrue(raw, "no database file at %s" % self.daemon.db_path)
        self.assertNotIn(email.encode(), raw)
        self.assertNotIn(last.encode(), raw)
        # late payload for the redacted id: still gone
        self.daemon.post_ok(self, dict(cu, updated_at=ts(9)), topic="customers/update")
        self.assertEqual(self.daemon.customer(cid).status, 404)


class Logging(H.DaemonTestCase):

    def test_no_body_or_pii_in_stderr_for_bad_hmac(self):
        cid = nid()
        email = "bad-hmac-pii-%d@example.com" % cid
        name = "Qqpiiname%d" % cid
        o = H.order_payload(nid(), 100, ts(5), customer=H.customer_obj(cid, email=email,
                                                                      first_name=name))
        r = self.daemon.post(o, hmac_value="bm90IHRoZSBobWFj")
        self.assertEqual(r.status, 401, r)
        r = self.daemon.post(o, secret="wrong")
        self.assertEqual(r.status, 401, r)
        # a valid delivery afterwards, so any buffered log lines are flushed by now
        oid, cid2, o2 = simple_order(self, self.daemon)
        self.daemon.post_ok(self, o2)
        time.sleep(0.3)
        log = self.daemon.stderr_text()
        self.assertNotIn(email, log)
        self.assertNotIn(name, log)
        self.assertNotIn('"current_total_price"', log)

    def test_no_pii_in_stderr_for_valid_delivery(self):
        cid = nid()
        email = "good-pii-%d@example.com" % cid
        o = H.order_payload(nid(), 100, ts(5), customer=H.customer_obj(cid, email=email))
        self.daemon.post_ok(self, o)
        time.sleep(0.3)
        self.assertNotIn(email, self.daemon.stderr_text())


class Lifecycle(unittest.TestCase):

    def test_sigterm_exits_zero_and_state_survives(self):
        d = H.Daemon()
        try:
            d.start()
            oid, cid, o = simple_order(self, d, cents=4321)
            d.post_ok(self, o)
            rc = d.stop()
            self.assertEqual(rc, 0, "SIGTERM exit code")
            d.start()
            c = d.customer(cid)
            self.assertEqual(c.status, 200, c)
            self.assertEqual(c.json()["amount_spent"], "43.21")
            # dedup survives a restart too
            wid = H.new_webhook_id()
            o2 = H.order_payload(nid(), 100, ts(6), customer=H.customer_obj(cid))
            d.post_ok(self, o2, webhook_id=wid)
            d.stop()
            d.start()
            o3 = dict(o2, id=nid())
            d.post_ok(self, o3, webhook_id=wid)
            self.assertEqual(d.customer(cid).json()["amount_spent"], "44.21")
        finally:
            d.cleanup()


if __name__ == "__main__":
    H.main()

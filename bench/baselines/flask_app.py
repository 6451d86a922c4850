"""Baseline: a Shopify webhook receiver written the way typical Flask apps are.

Verifies the HMAC over the raw body, parses the JSON, and in one SQLite transaction (WAL,
synchronous=FULL) upserts the order and recomputes the customer's aggregate from the order rows,
then answers 200. Run under gunicorn, e.g.

    SHOPIFY_SECRET=... BASELINE_DB=/tmp/flask.db \
      gunicorn -w 5 -b 127.0.0.1:8081 --chdir bench/baselines flask_app:app
"""
import base64
import hashlib
import hmac
import json
import os
import sqlite3
from decimal import Decimal

from flask import Flask, abort, request

SECRET = os.environ.get("SHOPIFY_SECRET", "dev-secret-change-me").encode()
DB_PATH = os.environ.get("BASELINE_DB", "baseline-flask.db")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
  shop TEXT NOT NULL, id INTEGER NOT NULL, customer_id INTEGER, email TEXT,
  currency TEXT, total_price_cents INTEGER NOT NULL, financial_status TEXT,
  created_at TEXT, updated_at TEXT NOT NULL,
  PRIMARY KEY (shop, id));
CREATE INDEX IF NOT EXISTS orders_customer ON orders (shop, customer_id);
CREATE TABLE IF NOT EXISTS customers (
  shop TEXT NOT NULL, id INTEGER NOT NULL, email TEXT, first_name TEXT, last_name TEXT,
  orders_count INTEGER NOT NULL, total_spent_cents INTEGER NOT NULL,
  first_order_at TEXT, last_order_at TEXT,
  PRIMARY KEY (shop, id));
"""

app = Flask(__name__)


_db = None


def get_db():
    # One connection per worker process, opened after gunicorn forks. (Opening one per request,
    # as Flask's tutorial does, is much slower: closing the last connection checkpoints the WAL.)
    global _db
    if _db is None:
        _db = sqlite3.connect(DB_PATH, timeout=30, isolation_level=None)
        _db.execute("PRAGMA journal_mode=WAL")
        _db.execute("PRAGMA synchronous=FULL")
        _db.execute("PRAGMA busy_timeout=30000")
    return _db


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


_init = sqlite3.connect(DB_PATH, timeout=30)
_init.execute("PRAGMA journal_mode=WAL")
_init.executescript(SCHEMA)
_init.close()


@app.post("/webhooks")
def webhook():
    raw = request.get_data()
    digest = base64.b64encode(hmac.new(SECRET, raw, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(digest, request.headers.get("X-Shopify-Hmac-Sha256", "")):
        abort(401)
    shop = request.headers.get("X-Shopify-Shop-Domain")
    topic = request.headers.get("X-Shopify-Topic")
    if not shop or not topic:
        abort(400)
    order = json.loads(raw)
    if topic.startswith("orders/"):
        customer = order.get("customer") or {}
        cid = customer.get("id")
        total = cents(order["current_total_price_set"]["shop_money"]["amount"])
        db = get_db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(
                """INSERT INTO orders (shop, id, customer_id, email, currency, total_price_cents,
                                       financial_status, created_at, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (shop, id) DO UPDATE SET
                     customer_id = excluded.customer_id, email = excluded.email,
                     currency = excluded.currency, total_price_cents = excluded.total_price_cents,
                     financial_status = excluded.financial_status, updated_at = excluded.updated_at
                   WHERE excluded.updated_at > orders.updated_at""",
                (shop, order["id"], cid, order.get("email"), order.get("currency"), total,
                 order.get("financial_status"), order.get("created_at"), order["updated_at"]))
            if cid is not None:
                db.execute(
                    """INSERT INTO customers (shop, id, email, first_name, last_name, orders_count,
                                              total_spent_cents, first_order_at, last_order_at)
                       SELECT ?, ?, ?, ?, ?, count(*), coalesce(sum(total_price_cents), 0),
                              min(created_at), max(created_at)
                       FROM orders WHERE shop = ? AND customer_id = ?
                       ON CONFLICT (shop, id) DO UPDATE SET
                         email = excluded.email, first_name = excluded.first_name,
                         last_name = excluded.last_name, orders_count = excluded.orders_count,
                         total_spent_cents = excluded.total_spent_cents,
                         first_order_at = excluded.first_order_at,
                         last_order_at = excluded.last_order_at""",
                    (shop, cid, customer.get("email"), customer.get("first_name"),
                     customer.get("last_name"), shop, cid))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return "", 200

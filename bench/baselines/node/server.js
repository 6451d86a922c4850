// Baseline: a Shopify webhook receiver written the way typical Node apps are (Express +
// better-sqlite3). Verifies the HMAC over the raw body, parses the JSON, and in one SQLite
// transaction (WAL, synchronous=FULL) upserts the order and recomputes the customer's aggregate
// from the order rows, then answers 200.
//
//   SHOPIFY_SECRET=... BASELINE_DB=/tmp/node.db PORT=8082 node server.js
'use strict';
const crypto = require('node:crypto');
const express = require('express');
const Database = require('better-sqlite3');

const SECRET = process.env.SHOPIFY_SECRET || 'dev-secret-change-me';
const DB_PATH = process.env.BASELINE_DB || 'baseline-node.db';
const PORT = Number(process.env.PORT || 8082);
const HOST = process.env.HOST || '127.0.0.1';

const db = new Database(DB_PATH);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('busy_timeout = 30000');
db.exec(`
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
`);
db.defaultSafeIntegers(true); // 64-bit ids

const upsertOrder = db.prepare(`
  INSERT INTO orders (shop, id, customer_id, email, currency, total_price_cents,
                      financial_status, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (shop, id) DO UPDATE SET
    customer_id = excluded.customer_id, email = excluded.email, currency = excluded.currency,
    total_price_cents = excluded.total_price_cents, financial_status = excluded.financial_status,
    updated_at = excluded.updated_at
  WHERE excluded.updated_at > orders.updated_at`);
const upsertCustomer = db.prepare(`
  INSERT INTO customers (shop, id, email, first_name, last_name, orders_count, total_spent_cents,
                         first_order_at, last_order_at)
  SELECT ?, ?, ?, ?, ?, count(*), coalesce(sum(total_price_cents), 0), min(created_at), max(created_at)
  FROM orders WHERE shop = ? AND customer_id = ?
  ON CONFLICT (shop, id) DO UPDATE SET
    email = excluded.email, first_name = excluded.first_name, last_name = excluded.last_name,
    orders_count = excluded.orders_count, total_spent_cents = excluded.total_spent_cents,
    first_order_at = excluded.first_order_at, last_order_at = excluded.last_order_at`);

const apply = db.transaction((shop, order, orderId, customerId) => {
  const c = order.customer || {};
  upsertOrder.run(shop, orderId, customerId, order.email ?? null, order.currency ?? null,
                  cents(order.current_total_price_set.shop_money.amount),
                  order.financial_status ?? null, order.created_at ?? null, order.updated_at);
  if (customerId !== null) {
    upsertCustomer.run(shop, customerId, c.email ?? null, c.first_name ?? null,
                       c.last_name ?? null, shop, customerId);
  }
});

// "414.95" -> 41495n without going through a float.
function cents(amount) {
  const [whole, frac = ''] = String(amount).split('.');
  return BigInt(whole) * 100n + BigInt((frac + '00').slice(0, 2));
}

// JSON.parse turns 64-bit ids into doubles; typical apps take the id from the raw text.
function rawId(raw, key) {
  const m = new RegExp(`"${key}":\\s*(\\d+)`).exec(raw);
  return m ? BigInt(m[1]) : null;
}

const app = express();
app.post('/webhooks', express.raw({ type: '*/*', limit: '8mb' }), (req, res) => {
  const body = req.body;
  const digest = crypto.createHmac('sha256', SECRET).update(body).digest();
  const header = Buffer.from(req.get('X-Shopify-Hmac-Sha256') || '', 'base64');
  if (header.length !== digest.length || !crypto.timingSafeEqual(digest, header)) {
    return res.sendStatus(401);
  }
  const shop = req.get('X-Shopify-Shop-Domain');
  const topic = req.get('X-Shopify-Topic');
  if (!shop || !topic) return res.sendStatus(400);
  const text = body.toString('utf8');
  const order = JSON.parse(text);
  if (topic.startsWith('orders/')) {
    const orderId = rawId(text, 'id');
    const customerId = order.customer ? rawId(text.slice(text.indexOf('"customer":{')), 'id') : null;
    apply(shop, order, orderId, customerId);
  }
  res.sendStatus(200);
});

app.listen(PORT, HOST, () => console.error(`node baseline listening on ${HOST}:${PORT}`));

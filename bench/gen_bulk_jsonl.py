#!/usr/bin/env python3
"""Writes a GraphQL bulk-operation result (JSONL) of customers and their orders, the shape the
README's bulk query produces: each customer line followed by its orders as children
(`__parentId`). Deterministic for a given --seed.

    bench/gen_bulk_jsonl.py --customers 200000 --orders 1000000 --out /tmp/bulk.jsonl
"""

import argparse
import random
import sys


def generate(out, customers, orders, seed=1, first_customer=7_000_000_000_000, first_order=5_000_000_000_000):
    rng = random.Random(seed)
    per = [orders // customers] * customers
    for i in range(orders - sum(per)):
        per[i] += 1
    order_id = first_order
    write = out.write
    for c in range(customers):
        cid = first_customer + c
        write('{"id":"gid://shopify/Customer/%d","email":"c%d@example.com","phone":null,"firstName":"C%d",'
              '"lastName":"Buyer","tags":["t%d"],"state":"ENABLED","createdAt":"2022-01-01T00:00:00Z",'
              '"updatedAt":"2026-01-01T00:00:00Z"}\n' % (cid, c, c, c % 7))
        for _ in range(per[c]):
            order_id += 1
            day = rng.randrange(1, 28)
            month = rng.randrange(1, 13)
            year = rng.choice((2024, 2025, 2026)) if month < 11 else rng.choice((2024, 2025))
            cents = rng.randrange(500, 500_000)
            write('{"id":"gid://shopify/Order/%d","name":"#%d","email":"c%d@example.com",'
                  '"processedAt":"%d-%02d-%02dT12:00:00Z","createdAt":"%d-%02d-%02dT12:00:00Z",'
                  '"updatedAt":"%d-%02d-%02dT13:00:00Z","cancelledAt":null,"test":false,'
                  '"displayFinancialStatus":"PAID","displayFulfillmentStatus":"FULFILLED",'
                  '"currentTotalPriceSet":{"shopMoney":{"amount":"%d.%02d","currencyCode":"USD"}},'
                  '"__parentId":"gid://shopify/Customer/%d"}\n'
                  % (order_id, order_id, c, year, month, day, year, month, day, year, month, day,
                     cents // 100, cents % 100, cid))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=200_000)
    p.add_argument("--orders", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="-")
    a = p.parse_args()
    out = sys.stdout if a.out == "-" else open(a.out, "w")
    with out:
        generate(out, a.customers, a.orders, a.seed)


if __name__ == "__main__":
    main()

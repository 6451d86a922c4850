#!/usr/bin/env python3
"""Freshness of the query socket: after a delivery's 200, does the very next lookup show the
tier that delivery earned, and how long after the 200 does that answer arrive?

Needs a running shopsegd with the tier segments of config.example.toml (silver for a single
order over $2,500, platinum for over $10,000 within twelve months). For each trial a fresh
customer gets an order of $3,100 (silver) and then one of $7,500 (platinum); after each 200
the customer is looked up by email on a kept-open query connection. A trial is fresh when both
lookups show the new tier. Prints one JSON object: trials, fresh, stale, and the time from each
200 to the lookup's answer (median and max, in microseconds; one lookup round trip from Python,
so an upper bound of the client side's share too).

  bench/freshness.py --port P --secret S --shop D --socket PATH [--trials N]
"""

import argparse
import datetime
import http.client
import json
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness as H  # noqa: E402  (payload builders and signing, standard library only)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", default="/webhooks")
    ap.add_argument("--secret", required=True)
    ap.add_argument("--shop", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--trials", type=int, default=200)
    a = ap.parse_args()

    hooks = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
    queries = H.UnixHTTPConnection(a.socket, timeout=30)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1)
    when = now.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    base = random.randrange(2**60, 2**62)
    lags_us, stale, errors = [], [], []

    for t in range(a.trials):
        cid = base + t
        email = "fresh.%d@example.com" % cid
        customer = H.customer_obj(cid, email=email)
        for dollars, tier in ((3100, "silver"), (7500, "platinum")):
            oid = random.randrange(2**53, 2**63)
            body = json.dumps(H.order_payload(oid, dollars * 100, when, customer=customer),
                              separators=(",", ":")).encode()
            headers = H.webhook_headers(body, shop=a.shop, secret=a.secret)
            hooks.request("POST", a.path, body=body, headers=headers)
            r = hooks.getresponse()
            r.read()
            acked = time.perf_counter()
            if r.status != 200:
                errors.append("delivery answered %d" % r.status)
                continue
            queries.request("GET", "/v1/customers/%s?email=%s" % (a.shop, email.replace("@", "%40")))
            q = queries.getresponse()
            answer = q.read()
            lags_us.append((time.perf_counter() - acked) * 1e6)
            found = json.loads(answer).get("customers", []) if q.status == 200 else []
            shown = found[0].get("tier") if found else None
            if shown != tier:
                stale.append({"trial": t, "want": tier, "saw": shown, "status": q.status})

    lags_us.sort()
    print(json.dumps({
        "trials": a.trials,
        "lookups": len(lags_us),
        "fresh": len(lags_us) - len(stale),
        "stale": len(stale),
        "errors": len(errors),
        "after_200_p50_us": round(statistics.median(lags_us), 1) if lags_us else None,
        "after_200_max_us": round(lags_us[-1], 1) if lags_us else None,
        "first_stale": stale[:3],
        "first_error": errors[:1],
    }))
    return 0 if not stale and not errors else 1


if __name__ == "__main__":
    sys.exit(main())

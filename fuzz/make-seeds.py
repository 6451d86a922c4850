#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora from the test fixtures and the rule examples.

make-seeds.py SOURCE_DIR OUT_DIR: OUT_DIR/<target>/<name> for every target in fuzz/. The seeds
follow each target's input format (see the comment at the top of fuzz/<target>.cpp).
"""
import hashlib
import hmac
import base64
import pathlib
import re
import sys
import tomllib

TOPICS = ["orders/create", "orders/updated", "orders/paid", "orders/cancelled", "orders/fulfilled",
          "orders/partially_fulfilled", "orders/delete", "orders/edited", "refunds/create",
          "customers/create", "customers/update", "customers/enable", "customers/disable",
          "customers/delete", "customers/merge", "customer.tags_added", "customer.tags_removed",
          "customers/purchasing_summary", "customers/data_request", "customers/redact",
          "shop/redact", "app/uninstalled"]
SHOP = "hot-rod-an.myshopify.com"
ROUTES = ["/v1/customers/{s}/1", "/v1/customers/{s}?email=a%40b.c", "/v1/customers/{s}?phone=%2B15550001",
          "/v1/customers/{s}/1/explain", "/v1/customers/{s}/1/export", "/v1/orders/{s}/1",
          "/v1/segments", "/v1/segments/vip/members?limit=2&after=1", "/v1/changes?after=0&wait=1",
          "/v1/quarantine", "/v1/health", "/metrics"]


def write(out, target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


def http_request(method, target, headers, body=b""):
    head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head += f"Content-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def main():
    src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    fixtures = sorted((src / "tests/fixtures").glob("*.json"))
    for f in fixtures:
        body = f.read_bytes()
        for i, topic in enumerate(TOPICS):
            write(out, "fuzz_decode", f"{f.stem}-{i}", topic.encode() + b"\n" + body)
        topic = f.stem.replace("_", "/", 1)
        sig = base64.b64encode(hmac.new(b"fuzz-secret", body, hashlib.sha256).digest()).decode()
        req = http_request("POST", "/webhooks", {
            "X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            "X-Shopify-API-Version": "2025-01", "X-Shopify-Hmac-Sha256": sig,
            "Content-Type": "application/json"}, body)
        write(out, "fuzz_webhook", f.stem, b"\x00" + req)
        write(out, "fuzz_webhook", f.stem + "-pipelined", b"\x01" + req + req)
    for f in sorted((src / "tests/fixtures/import").iterdir()):
        write(out, "fuzz_import", f.name, f.read_bytes())

    queries = []
    example = tomllib.loads((src / "config.example.toml").read_text())
    queries += [(0, s["query"]) for s in example.get("segment", [])]
    queries += [(1, s["query"]) for s in example.get("order_flag", [])]
    for test in sorted((src / "tests/rules").glob("*_test.cpp")):
        for m in re.finditer(r'rules::parse\("((?:[^"\\]|\\.)*)"', test.read_text()):
            queries.append((0, m.group(1).encode().decode("unicode_escape")))
    for i, (subject, text) in enumerate(queries):
        write(out, "fuzz_rules", f"query-{i}", bytes([subject]) + text.encode())

    for i, route in enumerate(ROUTES):
        req = http_request("GET", route.format(s=SHOP), {})
        write(out, "fuzz_query_api", f"route-{i}", b"\x01" + req + req)
        write(out, "fuzz_query_api", f"route-{i}-query", b"\x02" + req)
    write(out, "fuzz_query_api", "reload", b"\x01" + http_request("POST", "/v1/reload", {}))
    write(out, "fuzz_query_api", "retry", b"\x01" + http_request("POST", "/v1/quarantine/1/retry", {}))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Import benchmark: a bulk-operation JSONL of ORDERS orders of CUSTOMERS customers (default
# 1,000,000 and 200,000; written by bench/gen_bulk_jsonl.py), imported with `shopseg import`
# into an empty store of a daemon running the shipped segments (config.example.toml), segment
# evaluation included. Prints the wall time and orders/s of the import.
#
#   bench/run-import.sh [--orders N] [--customers N]     (BUILD_DIR=build by default)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORDERS=1000000
CUSTOMERS=200000
while [ $# -gt 0 ]; do
  case "$1" in
    --orders) ORDERS="$2"; shift 2 ;;
    --customers) CUSTOMERS="$2"; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "run-import: unknown option $1" >&2; exit 2 ;;
  esac
done
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
WORK="$(mktemp -d /tmp/shopseg-import.XXXXXX)"
SHOP="bench-shop.myshopify.com"
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
python3 "$ROOT/bench/gen_bulk_jsonl.py" --orders "$ORDERS" --customers "$CUSTOMERS" --out "$WORK/bulk.jsonl"
{
  cat <<TOML
[webhook]
listen = "127.0.0.1:0"
secrets = ["bench-secret"]
[query]
socket = "$WORK/query.sock"
[admin]
socket = "$WORK/admin.sock"
[store]
path = "$WORK/shopseg.db"
[log]
level = "warn"
[[shop]]
domain = "$SHOP"
timezone = "America/Chicago"
TOML
  sed -n '/^\[\[segment\]\]/,$p' "$ROOT/config.example.toml"
} >"$WORK/shopsegd.toml"
"$BUILD_DIR/daemon/shopsegd" --config "$WORK/shopsegd.toml" 2>"$WORK/server.log" &
PID=$!
for _ in $(seq 100); do [ -S "$WORK/admin.sock" ] && break; sleep 0.1; done
start=$(date +%s.%N)
"$BUILD_DIR/cli/shopseg" --admin-socket "$WORK/admin.sock" import --shop "$SHOP" "$WORK/bulk.jsonl" >"$WORK/summary.txt"
end=$(date +%s.%N)
cat "$WORK/summary.txt"
python3 -c "
t = $end - $start
print('import of %d orders, %d customers: %.1f s, %.0f orders/s, %.0f records/s' % ($ORDERS, $CUSTOMERS, t, $ORDERS / t, ($ORDERS + $CUSTOMERS) / t))"

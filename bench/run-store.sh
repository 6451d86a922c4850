#!/usr/bin/env bash
# Large-store benchmark: fills a fresh store with ORDERS orders (default 1,000,000) of CUSTOMERS
# customers (default 100,000) through the webhook endpoint, then measures, against that store:
# database bytes per order, full-load throughput and CPU per webhook, ack latency at a fixed
# 1,000/s, and shopsegd's peak RSS over the whole run.
#
#   bench/run-store.sh [--orders N] [--customers N] [--runs N]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ORDERS=1000000
CUSTOMERS=100000
RUNS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --orders) ORDERS="$2"; shift 2 ;;
    --customers) CUSTOMERS="$2"; shift 2 ;;
    --runs) RUNS="$2"; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "run-store: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { echo "run-store: $*" >&2; }
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$BUILD_DIR.log" 2>&1
cmake --build "$BUILD_DIR" --target shopsegd loadgen -j"$(nproc)" >>"$BUILD_DIR.log" 2>&1 ||
  { tail -30 "$BUILD_DIR.log" >&2; exit 1; }
LOADGEN="$BUILD_DIR/bench/loadgen"
WORK="$(mktemp -d /tmp/shopseg-store.XXXXXX)"
SECRET="bench-secret-$RANDOM"
SHOP="bench-shop.myshopify.com"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/shopsegd.toml" <<TOML
[webhook]
listen = "127.0.0.1:$PORT"
secrets = ["$SECRET"]
[query]
socket = "$WORK/query.sock"
[admin]
socket = "$WORK/admin.sock"
[store]
path = "$WORK/shopseg.db"
[log]
level = "warn"
TOML
"$BUILD_DIR/daemon/shopsegd" --config "$WORK/shopsegd.toml" 2>"$WORK/server.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; [ -n "${KEEP_DB:-}" ] || rm -rf "$WORK"' EXIT
sleep 1
common=(--port "$PORT" --secret "$SECRET" --shop "$SHOP" --pid "$PID" --customers "$CUSTOMERS" --json)
orders() { sqlite3 "file:$WORK/shopseg.db?mode=ro" "SELECT count(*) FROM orders" 2>/dev/null || echo 0; }

log "filling the store with $ORDERS orders of $CUSTOMERS customers"
while [ "$(orders)" -lt "$ORDERS" ]; do
  left=$(( ORDERS - $(orders) ))
  "$LOADGEN" "${common[@]}" --requests $(( left < 100000 ? left : 100000 )) --duration 30 --warmup 0 \
    >"$WORK/fill.json" || true
  log "  $(orders) orders"
done
sqlite3 "$WORK/shopseg.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
read -r n_orders n_customers n_deliveries <<<"$(sqlite3 -separator ' ' "file:$WORK/shopseg.db?mode=ro" \
  "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM customers), (SELECT count(*) FROM deliveries)")"
db_bytes=$(stat -c %s "$WORK/shopseg.db")
dedup_bytes=$(sqlite3 "file:$WORK/shopseg.db?mode=ro" \
  "SELECT coalesce(sum(pgsize),0) FROM dbstat WHERE name IN ('deliveries','deliveries_by_time')" 2>/dev/null || echo 0)

for r in $(seq 1 "$RUNS"); do
  "$LOADGEN" "${common[@]}" --duration 10 --warmup 2 >>"$WORK/full.jsonl" || true
done
"$LOADGEN" "${common[@]}" --rate 1000 --duration 20 --warmup 2 >"$WORK/rate.jsonl" || true
rss_kb=$(awk '/VmHWM/ {print $2}' /proc/$PID/status)

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { python3 -c 'import json,sys; k=sys.argv[1]; [print(json.loads(l)[k]) for l in sys.stdin if l.strip()]' "$1"; }
printf '\nLarge store: %s orders, %s customers, %s dedup keys. %s cores, %s.\n' \
  "$n_orders" "$n_customers" "$n_deliveries" "$(nproc)" "$(uname -r)"
awk -v b="$db_bytes" -v d="$dedup_bytes" -v n="$n_orders" 'BEGIN {
  printf "database            %.1f MB, %.0f bytes per order (%.0f without the dedup keys)\n", b/1e6, b/n, (b-d)/n }'
printf 'full load           %.0f webhooks/s, %.0f us CPU per webhook (median of %s x 10 s)\n' \
  "$(field ok_per_s <"$WORK/full.jsonl" | median)" "$(field cpu_us_per_webhook <"$WORK/full.jsonl" | median)" "$RUNS"
printf 'fixed 1,000/s       p50 %.2f ms, p99 %.2f ms, max %.2f ms (20 s)\n' \
  "$(field p50_ms <"$WORK/rate.jsonl")" "$(field p99_ms <"$WORK/rate.jsonl")" "$(field max_ms <"$WORK/rate.jsonl")"
awk -v k="$rss_kb" 'BEGIN { printf "peak RSS            %.1f MB (VmHWM over the whole run)\n", k/1024 }'

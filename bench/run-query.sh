#!/usr/bin/env bash
# Query-socket benchmark: customer lookups by email against a store filled through the webhook
# endpoint, with the segments config.example.toml ships. Phases: (a) 1 connection, no ingest;
# (b) 1 connection while loadgen posts 1,000 webhooks/s; (c) 8 connections, no ingest; (d) curl
# --unix-socket as a reference; (e) freshness: the first lookup after a delivery's 200 shows the
# tier that delivery earned. Prints one table of medians over the runs.
#
#   bench/run-query.sh [--runs N] [--duration S] [--orders N] [--customers N] [--trials N]
#
# Results (one JSON line per run) stay in $OUT_DIR (default: a temp directory, printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
DURATION=5
WARMUP=1
ORDERS=200000       # orders/create deliveries that fill the store ...
CUSTOMERS=100000    # ... drawn from this many customers (200,000 orders reach ~86,000 of them)
RATE=1000
CONNECTIONS=8
CURLS=200           # sequential curl processes in (d)
TRIALS=200          # freshness trials in (e), two deliveries each
SECRET="bench-secret-$(date +%s)"
SHOP="bench-shop.myshopify.com"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --orders) ORDERS="$2"; shift 2 ;;
    --customers) CUSTOMERS="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --trials) TRIALS="$2"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "run-query: unknown option $1" >&2; exit 2 ;;
  esac
done

log() { echo "run-query: $*" >&2; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { python3 -c 'import json,sys; k=sys.argv[1]; [print(json.loads(l)[k]) for l in sys.stdin if l.strip()]' "$1"; }

# ---------------------------------------------------------------- build

log "building shopsegd, loadgen and querybench (Release) in $BUILD_DIR"
if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$BUILD_DIR" --target shopsegd loadgen querybench -j"$(nproc)"; } >"$BUILD_DIR.log" 2>&1; then
  tail -30 "$BUILD_DIR.log" >&2
  log "build failed (full log: $BUILD_DIR.log)"
  exit 1
fi
LOADGEN="$BUILD_DIR/bench/loadgen"
QUERYBENCH="$BUILD_DIR/bench/querybench"

# ---------------------------------------------------------------- the daemon

WORK="$(mktemp -d /tmp/shopseg-query.XXXXXX)"
OUT_DIR="${OUT_DIR:-$WORK/results}"
mkdir -p "$OUT_DIR"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
SOCK="$WORK/query.sock"
cat >"$WORK/shopsegd.toml" <<EOF
[webhook]
listen  = "127.0.0.1:$PORT"
path    = "/webhooks"
secrets = ["$SECRET"]
[query]
socket = "$SOCK"
[admin]
socket = "$WORK/admin.sock"
[store]
path = "$WORK/shopseg.db"
[log]
level = "warn"
EOF
# The shipped segments (tiers and service in every answer, as the help desk sees them).
sed -n '/^\[\[segment\]\]/,$p' "$ROOT/config.example.toml" >>"$WORK/shopsegd.toml"
"$BUILD_DIR/daemon/shopsegd" --config "$WORK/shopsegd.toml" 2>"$WORK/server.log" &
PID=$!
INGEST_PID=""
cleanup() {
  [ -n "$INGEST_PID" ] && kill "$INGEST_PID" 2>/dev/null
  kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  [ -n "${KEEP_DB:-}" ] || rm -f "$WORK"/shopseg.db*
}
trap cleanup EXIT
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
[ -S "$SOCK" ] || { cat "$WORK/server.log" >&2; log "shopsegd did not start"; exit 1; }

count() { sqlite3 "file:$WORK/shopseg.db?mode=ro" "SELECT count(*) FROM $1" 2>/dev/null || echo 0; }
ingest=(--port "$PORT" --secret "$SECRET" --shop "$SHOP" --customers "$CUSTOMERS" --json)

log "filling the store with $ORDERS orders of up to $CUSTOMERS customers through the webhook endpoint"
# Short runs of fresh requests: loadgen reuses its pool past its end (same customers), and a
# larger pool is ~7 KB a request of memory.
while [ "$(count orders)" -lt "$ORDERS" ]; do
  "$LOADGEN" "${ingest[@]}" --requests 25000 --duration 3 --warmup 0 >"$WORK/fill.json" || true
  log "  $(count orders) orders, $(count customers) customers"
done
# Every email in the store, shuffled: lookups hit rows all over the table and its index.
sqlite3 "file:$WORK/shopseg.db?mode=ro" \
  "SELECT email FROM customers WHERE shop = '$SHOP' AND email IS NOT NULL ORDER BY random()" >"$WORK/emails.txt"
N_CUSTOMERS=$(wc -l <"$WORK/emails.txt")
log "$N_CUSTOMERS customers to look up"

query=(--socket "$SOCK" --shop "$SHOP" --emails-file "$WORK/emails.txt" --pid "$PID" --json
       --duration "$DURATION" --warmup "$WARMUP")

# Starts loadgen at a fixed rate in the background, for a little longer than one querybench run,
# and returns once its deliveries arrive.
start_ingest() {
  local before; before=$(count orders)
  "$LOADGEN" "${ingest[@]}" --rate "$RATE" --connections 16 --warmup 0 \
    --duration "$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print d + w + 3 }')" >>"$OUT_DIR/b-ingest.jsonl" &
  INGEST_PID=$!
  for _ in $(seq 1 300); do [ "$(count orders)" -gt "$before" ] && break; sleep 0.1; done
}
stop_ingest() {
  wait "$INGEST_PID" 2>/dev/null || true
  INGEST_PID=""
}

# ---------------------------------------------------------------- (a) (b) (c)

: >"$OUT_DIR/a.jsonl"; : >"$OUT_DIR/b.jsonl"; : >"$OUT_DIR/c.jsonl"; : >"$OUT_DIR/b-ingest.jsonl"
for r in $(seq 1 "$RUNS"); do
  log "run $r/$RUNS"
  "$QUERYBENCH" "${query[@]}" --connections 1 --label a >>"$OUT_DIR/a.jsonl" || true
  start_ingest
  "$QUERYBENCH" "${query[@]}" --connections 1 --label b >>"$OUT_DIR/b.jsonl" || true
  stop_ingest
  "$QUERYBENCH" "${query[@]}" --connections "$CONNECTIONS" --label c >>"$OUT_DIR/c.jsonl" || true
done

# ---------------------------------------------------------------- (d) curl

log "curl: $CURLS processes, one request each; then $CURLS URLs in one process over keep-alive"
url() { echo "http://localhost/v1/customers/$SHOP?email=$(sed -n "$1p" "$WORK/emails.txt" | sed 's/@/%40/')"; }
: >"$OUT_DIR/curl-process.txt"
for i in $(seq 1 "$CURLS"); do
  s=$(date +%s%N)
  curl -sf --unix-socket "$SOCK" -o /dev/null "$(url "$i")" || echo "curl failed" >&2
  e=$(date +%s%N)
  echo $(( (e - s) / 1000 )) >>"$OUT_DIR/curl-process.txt"
done
args=(); for i in $(seq 1 "$CURLS"); do args+=(-o /dev/null "$(url "$i")"); done
# time_total per transfer (from the transfer's start to its last byte); the first one connects.
curl -s --unix-socket "$SOCK" -w '%{time_total}\n' "${args[@]}" 2>/dev/null |
  awk 'NR>1 && $1 != "" {printf "%.1f\n", $1*1e6}' >"$OUT_DIR/curl-keepalive.txt" || true

# ---------------------------------------------------------------- (e) freshness

log "freshness: $TRIALS customers, two tier-changing deliveries each, a lookup right after each 200"
python3 "$ROOT/bench/freshness.py" --port "$PORT" --secret "$SECRET" --shop "$SHOP" --socket "$SOCK" \
  --trials "$TRIALS" >"$OUT_DIR/freshness.json" || true

# ---------------------------------------------------------------- table

row() {  # row LABEL FILE TARGET
  local f="$OUT_DIR/$2"
  printf '%-34s %10.0f %8.1f %8.1f %9.1f %9.1f %8.1f %7s   %s\n' "$1" \
    "$(field lookups_per_s <"$f" | median)" "$(field p50_us <"$f" | median)" "$(field p99_us <"$f" | median)" \
    "$(field p999_us <"$f" | median)" "$(field max_us <"$f" | median)" "$(field cpu_us_per_lookup <"$f" | median)" \
    "$(field errors <"$f" | awk '{s+=$1} END {print s+0}')" "$3"
}
printf '\nCustomer lookup by email over the query socket: %s customers (%s orders) in the store, the shipped\n' \
  "$N_CUSTOMERS" "$(count orders)"
printf 'segments; %s x %s s per phase (medians; %s s warm-up). %s cores, %s.\n' "$RUNS" "$DURATION" "$WARMUP" "$(nproc)" "$(uname -r)"
printf '%-34s %10s %8s %8s %9s %9s %8s %7s   %s\n' phase "lookups/s" "p50 us" "p99 us" "p99.9 us" "max us" "CPU us" errors target
row "(a) 1 connection, no ingest" a.jsonl "p50 <= 40, p99 <= 150"
row "(b) 1 connection, ingest $(field ok_per_s <"$OUT_DIR/b-ingest.jsonl" | median | awk '{printf "%.0f", $1}')/s" b.jsonl "p99 <= 300 (CPU includes ingest)"
printf '    beside (b): loadgen at %s/s, its ack p50 %s ms, p99 %s ms (medians of the runs)\n' \
  "$(field ok_per_s <"$OUT_DIR/b-ingest.jsonl" | median | awk '{printf "%.0f", $1}')" \
  "$(field p50_ms <"$OUT_DIR/b-ingest.jsonl" | median)" "$(field p99_ms <"$OUT_DIR/b-ingest.jsonl" | median)"
row "(c) $CONNECTIONS connections, no ingest" c.jsonl ">= 25,000/s"
printf '%-34s %10s %8.1f %8s %9s %9.1f %8s %7s   %s\n' "(d) curl, a process per lookup" - \
  "$(median <"$OUT_DIR/curl-process.txt")" - - "$(sort -g "$OUT_DIR/curl-process.txt" | tail -1)" - - \
  "reference: wall time of fork+exec+connect+lookup"
if [ -s "$OUT_DIR/curl-keepalive.txt" ]; then
  printf '%-34s %10s %8.1f %8s %9s %9.1f %8s %7s   %s\n' "(d) curl, $CURLS URLs, keep-alive" - \
    "$(median <"$OUT_DIR/curl-keepalive.txt")" - - "$(sort -g "$OUT_DIR/curl-keepalive.txt" | tail -1)" - - \
    "reference: curl's time_total per transfer"
fi
python3 - "$OUT_DIR/freshness.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("(e) freshness: no result (%s)" % e); sys.exit(0)
print("(e) freshness: %d of %d lookups right after a delivery's 200 showed the tier it earned (%d stale, %d errors);"
      % (d["fresh"], d["lookups"], d["stale"], d["errors"]))
print("    lag 0 commits (target 0); the answer came %.0f us after the 200 (median, max %.0f us, Python client)"
      % (d["after_200_p50_us"] or 0, d["after_200_max_us"] or 0))
PY
echo "raw results: $OUT_DIR"

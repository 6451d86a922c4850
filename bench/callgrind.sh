#!/usr/bin/env bash
# Instructions per webhook: shopsegd under valgrind's callgrind while loadgen posts orders/create
# deliveries. Unlike wall-clock throughput, instruction counts repeat from run to run on a busy
# machine, so this is the figure to compare two builds side by side. Counts are user-space
# instructions of every daemon thread (the kernel's share of the CPU time, fsync and sockets,
# is not in them).
#
#   bench/callgrind.sh [--segments] [--duration S] [--connections N] [--customers N] [--keep DIR]
#
# --segments runs with the segments and order flags of config.example.toml. --customers sets
# loadgen's customer pool (default 100000: in a short run nearly every delivery is a customer's
# first order; a small pool makes them repeat buyers, as in a long run). The store is fresh;
# the first --warmup seconds are not counted. With --keep DIR the callgrind output is left in DIR
# (callgrind_annotate DIR/callgrind.out.* shows where the instructions go). BUILD_DIR selects the
# build (default: build, which should be RelWithDebInfo or Release).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"
SEGMENTS=0
DURATION=20
WARMUP=5
CONNECTIONS=64
CUSTOMERS=100000
KEEP=""
while [ $# -gt 0 ]; do
  case "$1" in
    --segments) SEGMENTS=1; shift ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --customers) CUSTOMERS="$2"; shift 2 ;;
    --keep) KEEP="$2"; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "callgrind: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed" >&2; exit 1; }
WORK="$(mktemp -d /tmp/shopseg-callgrind.XXXXXX)"
OUT="${KEEP:-$WORK}"
mkdir -p "$OUT"
SECRET="bench-secret-$RANDOM"
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
[ "$SEGMENTS" = 1 ] && sed -n '/^\[\[segment\]\]/,$p' "$ROOT/config.example.toml" >>"$WORK/shopsegd.toml"
rm -f "$OUT"/callgrind.out.*
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out.%p" \
  "$BUILD_DIR/daemon/shopsegd" --config "$WORK/shopsegd.toml" 2>"$WORK/server.log" &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 1 600); do
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
  kill -0 $PID 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
common=(--port "$PORT" --secret "$SECRET" --connections "$CONNECTIONS" --customers "$CUSTOMERS" --json)
"$BUILD_DIR/bench/loadgen" "${common[@]}" --duration "$WARMUP" --warmup 0 >/dev/null
callgrind_control -z "$PID" >/dev/null
"$BUILD_DIR/bench/loadgen" "${common[@]}" --duration "$DURATION" --warmup 0 >"$WORK/run.json"
callgrind_control -d measured "$PID" >/dev/null
sleep 1
ok=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"].get("200", 0))' "$WORK/run.json")
dump=$(ls -t "$OUT"/callgrind.out.*.* 2>/dev/null | head -1)
total=$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")
awk -v t="$total" -v n="$ok" -v s="$SEGMENTS" 'BEGIN {
  printf "%s: %d deliveries answered 200, %.0f instructions per webhook (%.3g in all)\n",
    (s ? "segments" : "no segments"), n, (n > 0 ? t / n : 0), t }'
[ -n "$KEEP" ] && echo "callgrind output: $dump" >&2 || true

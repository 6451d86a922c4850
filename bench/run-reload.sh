#!/usr/bin/env bash
# Reload under ingest: a store of N customers (default 1,000,000; built straight in SQL by
# segments_bench --fill-only, one counting order each), the real shopsegd started on it with no
# segments, then a reload (POST /v1/reload on the admin socket) to the segments
# config.example.toml ships, so that every customer's memberships are new, while loadgen sends
# webhooks at a fixed rate. Prints the reload's duration and membership changes (shopsegd's
# "reload: done" log line) and loadgen's ack p50/p99/max over its window.
#
#   bench/run-reload.sh [--customers N] [--rate R] [--duration S]
#
# loadgen runs for --duration seconds (default 60) and the reload starts 3 s into it; choose a
# duration the reload fits in (the script says when it did not). BUILD_DIR (default
# build-bench, Release) and KEEP=1 (keep the work directory) from the environment.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CUSTOMERS=1000000
RATE=1000
DURATION=60
SECRET="bench-secret-$(date +%s)"
SHOP="bench-shop.myshopify.com"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"

while [ $# -gt 0 ]; do
  case "$1" in
    --customers) CUSTOMERS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "run-reload: unknown option $1" >&2; exit 2 ;;
  esac
done
log() { echo "run-reload: $*" >&2; }

log "building shopsegd, loadgen and segments_bench in $BUILD_DIR"
if ! { { [ -f "$BUILD_DIR/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release; } &&
       cmake --build "$BUILD_DIR" --target shopsegd loadgen segments_bench -j"$(nproc)"; } >"$BUILD_DIR.log" 2>&1; then
  tail -30 "$BUILD_DIR.log" >&2
  log "build failed (full log: $BUILD_DIR.log)"
  exit 1
fi

WORK="$(mktemp -d /tmp/shopseg-reload.XXXXXX)"
PID=""
LOADGEN_PID=""
cleanup() {
  [ -n "$LOADGEN_PID" ] && kill "$LOADGEN_PID" 2>/dev/null || true
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  [ -n "${KEEP:-}" ] && log "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log "filling a store with $CUSTOMERS customers"
"$BUILD_DIR/bench/segments_bench" --customers "$CUSTOMERS" --keep "$WORK" --fill-only >&2

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cat >"$WORK/base.toml" <<EOF
[webhook]
listen  = "127.0.0.1:$port"
path    = "/webhooks"
secrets = ["$SECRET"]
[query]
socket = "$WORK/query.sock"
[admin]
socket = "$WORK/admin.sock"
[store]
path = "$WORK/shopseg.db"
[log]
level = "info"
EOF
cp "$WORK/base.toml" "$WORK/shopsegd.toml"
"$BUILD_DIR/daemon/shopsegd" --config "$WORK/shopsegd.toml" >"$WORK/server.log" 2>&1 &
PID=$!
admin() { curl -s --unix-socket "$WORK/admin.sock" "$@"; }
for _ in $(seq 1 3000); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$PID" 2>/dev/null || { log "shopsegd exited:"; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
# The listener is bound before a start-up recompute (a store whose memberships follow other
# definitions) finishes; deliveries sent meanwhile would wait for it and count in the figure.
until grep -q "shopsegd ready" "$WORK/server.log"; do
  kill -0 "$PID" 2>/dev/null || { log "shopsegd exited:"; cat "$WORK/server.log" >&2; exit 1; }
  sleep 0.1
done
log "shopsegd ready on $port (no segments)"

# The shipped segments: everything of config.example.toml from its first [[segment]] on.
sed -n '/^\[\[segment\]\]/,$p' "$ROOT/config.example.toml" >>"$WORK/shopsegd.toml"
"$BUILD_DIR/bench/loadgen" --port "$port" --secret "$SECRET" --shop "$SHOP" --pid "$PID" --rate "$RATE" \
  --duration "$DURATION" --warmup 1 --json >"$WORK/loadgen.json" &
LOADGEN_PID=$!
sleep 4
log "reload to the shipped segments while loadgen sends $RATE/s"
started=$(date +%s.%N)
admin -X POST http://localhost/v1/reload >"$WORK/reload.json"
while admin http://localhost/v1/health | grep -q '"reload":{"running":true'; do sleep 0.1; done
ended=$(date +%s.%N)
wait "$LOADGEN_PID" || true
LOADGEN_PID=""

elapsed=$(python3 -c "print('%.1f' % ($ended - $started))")
done_line="$(grep "reload: done" "$WORK/server.log" | tail -1 || true)"
python3 - "$WORK/loadgen.json" "$elapsed" "$done_line" "$CUSTOMERS" "$RATE" "$DURATION" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))
elapsed, line, customers, rate, duration = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], float(sys.argv[6])
m = re.search(r"(\d+) customers evaluated, (\d+) membership changes, (\d+) ms", line)
print(f"reload of {customers} customers to the shipped segments under {rate} webhooks/s")
if m:
    print(f"  shopsegd: {int(m.group(1))} customers evaluated, {int(m.group(2))} membership changes, "
          f"{int(m.group(3)) / 1000:.1f} s (running for {elapsed} s as /v1/health saw it)")
else:
    print(f"  shopsegd: no 'reload: done' line; /v1/health said running for {elapsed} s")
print(f"  loadgen over {duration:.0f} s: {d['ok_per_s']:.0f} ok/s, ack p50 {d['p50_ms']:.2f} ms, "
      f"p99 {d['p99_ms']:.2f} ms, max {d['max_ms']:.1f} ms, status {d['status']}")
if float(elapsed) + 4 > duration:
    print("  (the reload outlasted loadgen's window: rerun with a longer --duration)")
EOF

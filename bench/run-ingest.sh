#!/usr/bin/env bash
# Durable-ingest benchmark: shopsegd against a Flask/gunicorn and a Node/Express baseline, in
# turns, on the same generated payloads. Prints a table of medians and the ratios.
#
#   bench/run-ingest.sh [--runs N] [--duration S] [--connections N] [--rate R] [--only NAMES]
#
# NAMES is a comma list of shopsegd,segments,flask,node (default all four; "segments" is
# shopsegd with the segments and order flags config.example.toml ships). Every server gets a fresh
# database in a temp directory. Results (one JSON line per loadgen run) stay in $OUT_DIR
# (default: a temp directory, printed at the end).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUNS=3
DURATION=10
WARMUP=2
CONNECTIONS=64
RATE=1000
RATE_DURATION=10
ONLY="shopsegd,segments,flask,node"
SECRET="bench-secret-$(date +%s)"
SHOP="bench-shop.myshopify.com"
BUILD_DIR="${BUILD_DIR:-$ROOT/build-bench}"
GUNICORN_WORKERS="${GUNICORN_WORKERS:-$(( 2 * $(nproc) + 1 ))}"  # gunicorn's documented default advice

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) RUNS="$2"; shift 2 ;;
    --duration) DURATION="$2"; shift 2 ;;
    --warmup) WARMUP="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --rate) RATE="$2"; shift 2 ;;
    --rate-duration) RATE_DURATION="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run-ingest: unknown option $1" >&2; exit 2 ;;
  esac
done

log() { echo "run-ingest: $*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {  # wait_port PORT PID
  for _ in $(seq 1 300); do
    if ! kill -0 "$2" 2>/dev/null; then return 1; fi
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- build and dependencies

log "building shopsegd and loadgen (Release) in $BUILD_DIR"
targets=(loadgen)
{ want shopsegd || want segments; } && targets+=(shopsegd)
if ! { cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release &&
       cmake --build "$BUILD_DIR" --target "${targets[@]}" -j"$(nproc)"; } >"$BUILD_DIR.log" 2>&1; then
  tail -30 "$BUILD_DIR.log" >&2
  log "build failed (full log: $BUILD_DIR.log)"
  exit 1
fi
LOADGEN="$BUILD_DIR/bench/loadgen"
SHOPSEGD="$BUILD_DIR/daemon/shopsegd"

if want flask && ! { /usr/bin/python3 -c 'import flask' 2>/dev/null && command -v gunicorn >/dev/null; }; then
  log "installing python3-flask and gunicorn (Debian packages)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y -q python3-flask gunicorn >/dev/null
fi
NODE_DIR="$ROOT/bench/baselines/node"
if want node && ! (cd "$NODE_DIR" && node -e "require('better-sqlite3'); require('express')" 2>/dev/null); then
  log "installing the Node baseline's packages (npm; better-sqlite3 may build from source)"
  if [ -f "$NODE_DIR/package-lock.json" ]; then (cd "$NODE_DIR" && npm ci --no-audit --no-fund >/dev/null)
  else (cd "$NODE_DIR" && npm install --no-audit --no-fund >/dev/null); fi
fi

# ---------------------------------------------------------------- servers

WORK="$(mktemp -d /tmp/shopseg-bench.XXXXXX)"
OUT_DIR="${OUT_DIR:-$WORK/results}"
mkdir -p "$OUT_DIR"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
trap 'stop_server' EXIT INT TERM

start_server() {  # start_server NAME PORT DIR ; sets SERVER_PID
  local name="$1" port="$2" dir="$3"
  case "$name" in
    shopsegd|segments)
      cat >"$dir/shopsegd.toml" <<EOF
[webhook]
listen  = "127.0.0.1:$port"
path    = "/webhooks"
secrets = ["$SECRET"]
[query]
socket = "$dir/query.sock"
[admin]
socket = "$dir/admin.sock"
[store]
path = "$dir/shopseg.db"
[log]
level = "warn"
EOF
      # The shipped segments: everything of config.example.toml from its first [[segment]] on.
      [ "$name" = segments ] && sed -n '/^\[\[segment\]\]/,$p' "$ROOT/config.example.toml" >>"$dir/shopsegd.toml"
      "$SHOPSEGD" --config "$dir/shopsegd.toml" >"$dir/server.log" 2>&1 &
      SERVER_PID=$! ;;
    flask)
      SHOPIFY_SECRET="$SECRET" BASELINE_DB="$dir/flask.db" \
        gunicorn -w "$GUNICORN_WORKERS" -b "127.0.0.1:$port" --log-level warning \
        --chdir "$ROOT/bench/baselines" flask_app:app >"$dir/server.log" 2>&1 &
      SERVER_PID=$! ;;
    node)
      (cd "$NODE_DIR" && SHOPIFY_SECRET="$SECRET" BASELINE_DB="$dir/node.db" PORT="$port" \
        exec node server.js) >"$dir/server.log" 2>&1 &
      SERVER_PID=$! ;;
  esac
  if ! wait_port "$port" "$SERVER_PID"; then
    log "$name did not start listening on $port; its log:"
    cat "$dir/server.log" >&2
    return 1
  fi
}

# ---------------------------------------------------------------- runs

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { python3 -c 'import json,sys; k=sys.argv[1]; [print(json.loads(l)[k]) for l in sys.stdin if l.strip()]' "$1"; }

declare -A RES
servers=()
for name in shopsegd segments flask node; do
  want "$name" || continue
  dir="$WORK/$name"; mkdir -p "$dir"
  port="$(free_port)"
  log "$name: starting on 127.0.0.1:$port"
  if ! start_server "$name" "$port" "$dir"; then stop_server; continue; fi
  servers+=("$name")
  common=(--port "$port" --secret "$SECRET" --shop "$SHOP" --pid "$SERVER_PID" --json --label "$name")
  : >"$OUT_DIR/$name-full.jsonl"
  for r in $(seq 1 "$RUNS"); do
    "$LOADGEN" "${common[@]}" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" \
      >"$OUT_DIR/run.json" || true
    cat "$OUT_DIR/run.json" >>"$OUT_DIR/$name-full.jsonl"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print("run-ingest:   full load: %.0f ok/s p99 %.1f ms cpu %.0f us/webhook status %s" % (d["ok_per_s"], d["p99_ms"], d["cpu_us_per_webhook"], d["status"]), file=sys.stderr)' "$OUT_DIR/run.json" || true
  done
  "$LOADGEN" "${common[@]}" --connections "$CONNECTIONS" --rate "$RATE" --duration "$RATE_DURATION" --warmup "$WARMUP" \
    >"$OUT_DIR/$name-rate.jsonl" || true
  for k in ok_per_s p50_ms p99_ms max_ms cpu_us_per_webhook; do
    RES[$name,$k]="$(field "$k" <"$OUT_DIR/$name-full.jsonl" | median)"
  done
  RES[$name,peak_rss_mb]="$(field peak_rss_kb <"$OUT_DIR/$name-full.jsonl" | sort -g | tail -1 | awk '{printf "%.1f", $1/1024}')"
  RES[$name,rate_p99]="$(field p99_ms <"$OUT_DIR/$name-rate.jsonl" | median)"
  RES[$name,rate_ok]="$(field ok_per_s <"$OUT_DIR/$name-rate.jsonl" | median)"
  stop_server
  du -h "$dir"/*.db 2>/dev/null | sed "s/^/run-ingest:   database size /" >&2 || true
  [ -n "${KEEP_DB:-}" ] || rm -f "$dir"/*.db "$dir"/*.db-wal "$dir"/*.db-shm
  log "$name: done"
done

# ---------------------------------------------------------------- table

printf '\nDurable ingest, %s connections, %s x %s s (medians); fixed rate %s/s for %s s. %s cores, %s.\n' \
  "$CONNECTIONS" "$RUNS" "$DURATION" "$RATE" "$RATE_DURATION" "$(nproc)" "$(uname -r)"
printf '%-9s %10s %9s %9s %9s %12s %10s %14s\n' server "webhooks/s" "p50 ms" "p99 ms" "max ms" "CPU us/wh" "peak RSS" "p99 ms @$RATE/s"
for name in "${servers[@]}"; do
  printf '%-9s %10.0f %9.2f %9.2f %9.1f %12.0f %8s MB %14.2f\n' "$name" \
    "${RES[$name,ok_per_s]}" "${RES[$name,p50_ms]}" "${RES[$name,p99_ms]}" "${RES[$name,max_ms]}" \
    "${RES[$name,cpu_us_per_webhook]}" "${RES[$name,peak_rss_mb]}" "${RES[$name,rate_p99]}"
done
if [ -n "${RES[shopsegd,ok_per_s]:-}" ] && [ -n "${RES[segments,ok_per_s]:-}" ]; then
  awk -v a="${RES[segments,ok_per_s]}" -v b="${RES[shopsegd,ok_per_s]}" \
    'BEGIN { printf "with the shipped segments: %.0f%% of the throughput without them\n", (b>0?100*a/b:0) }'
fi
for base in flask node; do
  if [ -n "${RES[shopsegd,ok_per_s]:-}" ] && [ -n "${RES[$base,ok_per_s]:-}" ]; then
    awk -v a="${RES[shopsegd,ok_per_s]}" -v b="${RES[$base,ok_per_s]}" -v ca="${RES[shopsegd,cpu_us_per_webhook]}" \
        -v cb="${RES[$base,cpu_us_per_webhook]}" -v n="$base" \
      'BEGIN { printf "shopsegd/%s: throughput x%.2f, CPU per webhook x%.2f\n", n, (b>0?a/b:0), (cb>0?ca/cb:0) }'
  fi
done
echo "raw results: $OUT_DIR"

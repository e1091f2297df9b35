#!/usr/bin/env bash
# The overhead table of BENCHMARKS.md: the load harness's run.sh (mock upstream, wrk, sse-load)
# against a release build with scripts/bench-config (one channel at the mock), usage logging on
# as shipped, then again with it off. Prints the git SHA, the machine and its load.
#
#   BENCH_HARNESS=DIR scripts/bench_overhead.sh        # DURATION=10 REPEAT=2, logging on and off
#   BENCH_HARNESS=DIR DURATION=5 REPEAT=1 LOGGING="on" scripts/bench_overhead.sh
#   BENCH_HARNESS=DIR CONFIG_DIR=scripts/bench-config-4k scripts/bench_overhead.sh   # 4,000 models
#   BENCH_HARNESS=DIR COMPARE=history DURATION=5 scripts/bench_overhead.sh   # request history on, then off
#   BENCH_HARNESS=DIR COMPARE=redis DURATION=5 scripts/bench_overhead.sh     # shared state on Redis, then in process
#
# Every other run.sh setting (CONNS, STREAM_CONNS, STREAM_CHUNK_DELAY_MS, ...) passes through.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# BENCH_HARNESS (required; SHARED_BENCH is accepted too): the external load harness, a
# directory with run.sh (mock upstream, wrk, sse-load), post.lua and mock-upstream/.
BENCH_HARNESS=${BENCH_HARNESS:-${SHARED_BENCH:-}}
[ -n "$BENCH_HARNESS" ] || { echo "$(basename "$0"): set BENCH_HARNESS to the load harness directory (run.sh, post.lua, mock-upstream/)" >&2; exit 2; }
CONFIG_DIR=${CONFIG_DIR:-$root/scripts/bench-config}
PORT=${PORT:-7601}
LOGGING=${LOGGING:-"on off"}
# COMPARE=history: usage logging on in both runs; the request history on (bodies kept, as
# shipped), then off. COMPARE=redis: everything as shipped in both runs; the shared state on a
# redis-server this script starts on a free port (needs redis-server), then in process.
COMPARE=${COMPARE:-logging}
export DURATION=${DURATION:-10} REPEAT=${REPEAT:-2}
[ -x "$BENCH_HARNESS/run.sh" ] || { echo "bench_overhead.sh: no $BENCH_HARNESS/run.sh (set BENCH_HARNESS)" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || { echo "bench_overhead.sh: build failed" >&2; exit 2; }
bin=$root/target/release/smart-ai-router
echo "git $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- src Cargo.toml || echo ' (+ uncommitted changes)'), $(nproc) cores, $(awk '/MemTotal/ {printf "%d MB", $2/1024}' /proc/meminfo), $(uname -r)"
redis_pid=
if [ "$COMPARE" = redis ]; then
  command -v redis-server >/dev/null || { echo "bench_overhead.sh: COMPARE=redis needs redis-server" >&2; exit 2; }
  redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no >/dev/null & redis_pid=$!
  trap '[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null' EXIT
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
for logging in $LOGGING; do
  enabled=true; [ "$logging" = off ] && enabled=false
  history=true
  if [ "$COMPARE" = history ]; then history=$enabled; enabled=true; fi
  redis_url=
  if [ "$COMPARE" = redis ]; then
    [ "$enabled" = true ] && redis_url=redis://127.0.0.1:$redis_port/0
    enabled=true
  fi
  export SAR_BENCH_DIR; SAR_BENCH_DIR=$(mktemp -d)
  echo
  echo "== $COMPARE $logging; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  GATEWAY_URL=http://127.0.0.1:$PORT \
    GATEWAY_CMD="SAR_USAGE__ENABLED=$enabled SAR_HISTORY__ENABLED=$history ${redis_url:+SAR_STATE__REDIS_URL=$redis_url }SAR_BENCH_DIR=$SAR_BENCH_DIR RUST_LOG=warn exec $bin serve --config-dir $CONFIG_DIR --port $PORT" \
    "$BENCH_HARNESS/run.sh"
  rows=-; [ -f "$SAR_BENCH_DIR/history.db" ] && rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from requests").fetchone()[0])' "$SAR_BENCH_DIR/history.db" 2>/dev/null)
  # Rows the writer could not keep up with are dropped (and counted in /health): compare the
  # history's rows with the usage lines to see whether a history figure was bought with drops.
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); usage lines written: $(cat "$SAR_BENCH_DIR"/logs/usage_*.jsonl 2>/dev/null | wc -l); history: $(du -shc "$SAR_BENCH_DIR"/history.db* 2>/dev/null | tail -1 | cut -f1), ${rows:--} rows"
  rm -rf "$SAR_BENCH_DIR"
done

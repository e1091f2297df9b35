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
# With two modes (the default), it ends with the two side by side: the mean of each figure over
# the rounds and the change between them (first / second - 1), the same-run ratio to judge by.
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
# Each mode's summary tables, compared at the end (means over the rounds; first mode / second).
summaries=$(mktemp -d)
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
    "$BENCH_HARNESS/run.sh" | tee "$summaries/$logging"
  rows=-; [ -f "$SAR_BENCH_DIR/history.db" ] && rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from requests").fetchone()[0])' "$SAR_BENCH_DIR/history.db" 2>/dev/null)
  # Rows the writer could not keep up with are dropped (and counted in /health): compare the
  # history's rows with the usage lines to see whether a history figure was bought with drops.
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg); usage lines written: $(cat "$SAR_BENCH_DIR"/logs/usage_*.jsonl 2>/dev/null | wc -l); history: $(du -shc "$SAR_BENCH_DIR"/history.db* 2>/dev/null | tail -1 | cut -f1), ${rows:--} rows"
  rm -rf "$SAR_BENCH_DIR"
done
set -- $LOGGING
if [ $# -eq 2 ]; then
  echo
  echo "== $COMPARE $1 against $2 (means over the rounds; change = $1 / $2 - 1)"
  python3 - "$summaries/$1" "$summaries/$2" "$1" "$2" <<'PY'
import re, sys
def read(path):
    rows, streams = {}, {}
    for line in open(path):
        cells = [c.split() for c in line.split("|")]
        nums = lambda c: [float(re.sub(r"[^0-9.]", "", x)) for x in c if re.sub(r"[^0-9.]", "", x)]
        if re.match(r"^ +[0-9]+ \|", line) and len(cells) == 5:
            gw, added, cpu = nums(cells[2]), nums(cells[3]), nums(cells[4])
            rows.setdefault(int(cells[0][0]), []).append((added[0], gw[1], gw[2], cpu[1], cpu[0]))
        elif re.match(r"^stream +[0-9]+ \|", line) and len(cells) == 4:
            streams.setdefault(int(cells[0][1]), []).append(nums(cells[3])[0])
    return rows, streams
(a_rows, a_streams), (b_rows, b_streams) = read(sys.argv[1]), read(sys.argv[2])
mean = lambda xs: sum(xs) / len(xs)
def show(name, a, b):
    print(f"  {name:34} {a:10.1f} {b:10.1f} {100 * (a / b - 1):+7.1f}%" if b else f"  {name:34} {a:10.1f} {b:10.1f}")
print(f"  {'':34} {sys.argv[3]:>10} {sys.argv[4]:>10}  change")
for conns in sorted(set(a_rows) & set(b_rows)):
    a, b = a_rows[conns], b_rows[conns]
    for i, name in enumerate(["added p50 (us)", "gateway p99 (us)", "gateway rps", "gateway CPU us/req", "mock CPU us/req"]):
        show(f"c={conns} {name}", mean([r[i] for r in a]), mean([r[i] for r in b]))
for conns in sorted(set(a_streams) & set(b_streams)):
    show(f"stream c={conns} added TTFB p50 (us)", mean(a_streams[conns]), mean(b_streams[conns]))
PY
fi
rm -rf "$summaries"

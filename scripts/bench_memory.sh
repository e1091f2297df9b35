#!/usr/bin/env bash
# Memory with a 4,000-model catalog (scripts/bench-config-4k): the gateway's RSS idle after
# start, its peak (VmHWM) under wrk at 64 connections against the load harness's mock, and its
# RSS idle again after the load. Usage logging on as shipped (LOGGING=off to compare).
#
#   BENCH_HARNESS=DIR scripts/bench_memory.sh      # 20 s of load at 64 connections
#   BENCH_HARNESS=DIR DURATION=60 CONNS=64 scripts/bench_memory.sh
#   scripts/bench_memory.sh --regenerate  # rewrite scripts/bench-config-4k/router_config.yaml
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
CONFIG_DIR=${CONFIG_DIR:-$root/scripts/bench-config-4k}
DURATION=${DURATION:-20}
CONNS=${CONNS:-64}
PORT=${PORT:-7601}
MOCK_PORT=18080
LOGGING=${LOGGING:-on}

if [ "${1:-}" = --regenerate ]; then
  # Every third id of tests/data/model_names.txt, the first 4,000, after mock-model.
  out=$root/scripts/bench-config-4k/router_config.yaml
  { sed -n '1,/^    configured_models:/p' "$out"; echo '      - "mock-model"'
    grep -v '^[[:space:]]*$' "$root/tests/data/model_names.txt" | awk 'NR % 3 == 1' | head -4000 |
      sed 's/\\/\\\\/g; s/"/\\"/g; s/.*/      - "&"/'; } >"$out.new" && mv "$out.new" "$out"
  echo "wrote $out"; exit 0
fi

die() { echo "bench_memory.sh: $*" >&2; exit 2; }
# BENCH_HARNESS (required; SHARED_BENCH is accepted too): the external load harness, a
# directory with run.sh (mock upstream, wrk, sse-load), post.lua and mock-upstream/.
BENCH_HARNESS=${BENCH_HARNESS:-${SHARED_BENCH:-}}
[ -n "$BENCH_HARNESS" ] || { echo "$(basename "$0"): set BENCH_HARNESS to the load harness directory (run.sh, post.lua, mock-upstream/)" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || die "gateway build failed"
cargo build --release --quiet --manifest-path "$BENCH_HARNESS/mock-upstream/Cargo.toml" \
  --target-dir "$BENCH_HARNESS/mock-upstream/target" || die "mock build failed"
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT; trap 'exit 130' INT TERM
"$BENCH_HARNESS/mock-upstream/target/release/mock-upstream" "127.0.0.1:$MOCK_PORT" >/dev/null 2>&1 & pids+=($!)
enabled=true; [ "$LOGGING" = off ] && enabled=false
SAR_USAGE__ENABLED=$enabled SAR_BENCH_DIR=$work RUST_LOG=warn "$root/target/release/smart-ai-router" serve \
  --config-dir "$CONFIG_DIR" --port "$PORT" >"$work/gateway.log" 2>&1 & gw=$!; pids+=($gw)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >"$work/health.json" && break; sleep 0.1; done
[ -s "$work/health.json" ] || { cat "$work/gateway.log" >&2; die "the gateway did not start"; }
kb() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$gw/status"; }
sleep 5
entries=$(grep -o '"entries":[0-9]*' "$work/health.json" | cut -d: -f2)
idle=$(kb VmRSS)
echo "git $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), usage logging $LOGGING"
echo "catalog entries: $entries; threads: $(kb Threads)"
echo "idle RSS after start: $((idle / 1024)) MB ($idle kB)"
printf '{"model":"mock-model","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Say hello in one short sentence, please."}],"max_tokens":32}' >"$work/body.json"
BENCH_BODY_FILE=$work/body.json BENCH_TOKEN=sk-bench wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency \
  -s "$BENCH_HARNESS/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" >"$work/wrk.txt"
echo "load: wrk c=$CONNS ${DURATION}s: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") rps, non-2xx: $(awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$work/wrk.txt")"
echo "peak RSS under load (VmHWM): $(( $(kb VmHWM) / 1024 )) MB ($(kb VmHWM) kB)"
sleep 5
echo "idle RSS after the load: $(( $(kb VmRSS) / 1024 )) MB ($(kb VmRSS) kB)"

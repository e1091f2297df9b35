#!/usr/bin/env bash
# What recording a call costs in all, the history's deferred work included. run.sh measures
# the gateway's CPU during the load only; under load the history's importer (idle priority)
# stores its backlog afterwards, outside that window. This script loads the gateway with wrk
# against the harness's mock upstream, then waits until the history's spool is empty and
# reports the gateway's CPU per call twice: during the load, and including that drain.
#
#   BENCH_HARNESS=DIR scripts/bench_recording_cpu.sh
#   BENCH_HARNESS=DIR DURATION=8 CASES="small:64 small:1 16k:8" scripts/bench_recording_cpu.sh
#
# CASES: BODY:CONNS pairs; BODY is `small` (the harness's 200-byte chat request) or `16k` (the
# same with a 16 KB system prompt, as coding agents send). Each case runs with the history off,
# on (bodies captured and searched, as shipped), and on with `search_bodies: false` (bodies
# kept, not indexed).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
BENCH_HARNESS=${BENCH_HARNESS:-${SHARED_BENCH:-}}
[ -n "$BENCH_HARNESS" ] || { echo "$(basename "$0"): set BENCH_HARNESS to the load harness directory (post.lua, mock-upstream/)" >&2; exit 2; }
DURATION=${DURATION:-8}
CASES=${CASES:-"small:64 small:1 16k:8"}
PORT=${PORT:-7601}
MOCK_PORT=${MOCK_PORT:-18080}
command -v wrk >/dev/null || { echo "bench_recording_cpu.sh: needs wrk" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || { echo "bench_recording_cpu.sh: build failed" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$BENCH_HARNESS/mock-upstream/Cargo.toml" \
  --target-dir "$BENCH_HARNESS/mock-upstream/target" || { echo "bench_recording_cpu.sh: mock build failed" >&2; exit 2; }
bin=$root/target/release/smart-ai-router
work=$(mktemp -d)
mock_pid= gw_pid=
cleanup() {
  [ -n "$gw_pid" ] && kill "$gw_pid" 2>/dev/null
  [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

python3 - "$work" <<'PY'
import json, sys
small = {"model": "mock-model", "messages": [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello in one short sentence, please."}], "max_tokens": 32}
rules = "You are a coding agent. Follow the repository's conventions, explain each change, and never run destructive commands without asking. "
large = json.loads(json.dumps(small))
large["messages"][0]["content"] = (rules * 200)[:16000]
for name, body in (("small", small), ("16k", large)):
    open(f"{sys.argv[1]}/{name}.json", "w").write(json.dumps(body))
PY

"$BENCH_HARNESS/mock-upstream/target/release/mock-upstream" "127.0.0.1:$MOCK_PORT" >"$work/mock.log" 2>&1 &
mock_pid=$!
tick=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$gw_pid/stat"; }
history_field() { curl -sf "http://127.0.0.1:$PORT/health" | python3 -c 'import json, sys; print((json.load(sys.stdin).get("history") or {}).get(sys.argv[1], 0))' "$1"; }

echo "git $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, $(uname -r), ${DURATION}s per case"
printf '%-6s %6s %-10s | %8s | %15s %19s %8s | %s\n' body conns history calls "CPU us/call" "with the drain" "drain" "rows stored / dropped"
for case in $CASES; do
  body=${case%%:*} conns=${case##*:}
  [ -f "$work/$body.json" ] || { echo "bench_recording_cpu.sh: no body named $body" >&2; exit 2; }
  for mode in off on unsearched; do
    history=true searched=true
    [ "$mode" = off ] && history=false
    [ "$mode" = unsearched ] && searched=false
    data=$(mktemp -d -p "$work")
    SAR_HISTORY__ENABLED=$history SAR_HISTORY__SEARCH_BODIES=$searched SAR_BENCH_DIR=$data RUST_LOG=warn \
      "$bin" serve --config-dir "$root/scripts/bench-config" --port "$PORT" >"$data/gateway.log" 2>&1 &
    gw_pid=$!
    for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
    start=$(cpu_ticks)
    BENCH_BODY_FILE=$work/$body.json BENCH_TOKEN=sk-bench wrk -t"$([ "$conns" = 1 ] && echo 1 || echo 2)" -c"$conns" -d"${DURATION}s" \
      -s "$BENCH_HARNESS/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" >"$data/wrk.txt"
    loaded=$(cpu_ticks)
    calls=$(awk '/requests in/ {print $1}' "$data/wrk.txt")
    drain=0
    if [ "$history" = true ]; then
      while [ "$(history_field spool_bytes)" != 0 ] && [ "$drain" -lt 600 ]; do sleep 1; drain=$((drain + 1)); done
      sleep 1
    fi
    drained=$(cpu_ticks)
    rows=-; [ "$history" = true ] && rows="$(history_field stored) / $(history_field dropped)"
    printf '%-6s %6s %-10s | %8s | %15d %19d %7ss | %s\n' "$body" "$conns" "$mode" "$calls" \
      $(( (loaded - start) * 1000000 / tick / calls )) $(( (drained - start) * 1000000 / tick / calls )) "$drain" "$rows"
    kill "$gw_pid"; wait "$gw_pid" 2>/dev/null; gw_pid=
    rm -rf "$data"
  done
done

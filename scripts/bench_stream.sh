#!/usr/bin/env bash
# Streaming overhead: the same paced streams straight to a mock, then through the gateway, in
# one run. The mock (scripts/stream-bench, paced-mock) sends DELTAS content deltas GAP_MS apart,
# each stamped with its send time; stream-load times the first byte and every delta's arrival.
#
#   scripts/bench_stream.sh                     # 64 deltas 20 ms apart, 1 and 512 streams
#   STREAM_CONNS="1 64 512" DURATION=20 REPEAT=2 scripts/bench_stream.sh
#
# Added = gateway - direct, from the same run. The gateway runs with scripts/bench-config
# (usage logging on) unless GATEWAY_CONFIG_DIR says otherwise; its channel points at the mock.
#
# IDLE_BURN=1 is a diagnostic, not a figure to quote: it runs one `nice -n 19` busy loop per
# core during the measurements, so no vCPU ever halts. On a VM a halted vCPU takes tens of
# microseconds to wake, and with 20 ms between deltas every hop wakes one; the difference
# between the two runs is what the path pays the VM rather than the gateway's own work.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DELTAS=${DELTAS:-64}
GAP_MS=${GAP_MS:-20}
STREAM_CONNS=${STREAM_CONNS:-"1 512"}
DURATION=${DURATION:-10}
REPEAT=${REPEAT:-1}
MOCK_PORT=${MOCK_PORT:-18090}
GATEWAY_PORT=${GATEWAY_PORT:-7602}
GATEWAY_CONFIG_DIR=${GATEWAY_CONFIG_DIR:-$root/scripts/bench-config}
GATEWAY_BIN=${GATEWAY_BIN:-$root/target/release/smart-ai-router}
export BENCH_TOKEN=${GATEWAY_TOKEN:-sk-bench}

die() { echo "bench_stream.sh: $*" >&2; exit 2; }
echo "building the gateway and the stream bench tools..." >&2
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --quiet --manifest-path "$root/Cargo.toml" || die "gateway build failed"
cargo build --release --quiet --manifest-path "$root/scripts/stream-bench/Cargo.toml" || die "stream-bench build failed"
tools=$root/scripts/stream-bench/target/release
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$tools/paced-mock" "127.0.0.1:$MOCK_PORT" "$DELTAS" "$GAP_MS" >"$work/mock.log" 2>&1 & mock=$!; pids+=($mock)
export SAR_BENCH_DIR=${SAR_BENCH_DIR:-$work/gateway}
SAR_BENCH_MOCK_PORT=$MOCK_PORT RUST_LOG=warn "$GATEWAY_BIN" serve --config-dir "$GATEWAY_CONFIG_DIR" \
  --port "$GATEWAY_PORT" >"$work/gateway.log" 2>&1 & gw=$!; pids+=($gw)
printf '{"model":"mock-model","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"Count, please."}],"max_tokens":512}' >"$work/body.json"
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null && curl -sf "http://127.0.0.1:$MOCK_PORT/v1/models" >/dev/null && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$GATEWAY_PORT/health" >/dev/null || { cat "$work/gateway.log" >&2; die "the gateway did not start"; }
# Never measure against a mock left over from another run (ours would have failed to bind).
kill -0 "$mock" 2>/dev/null || { cat "$work/mock.log" >&2; die "the paced mock did not start (port $MOCK_PORT taken?)"; }
kill -0 "$gw" 2>/dev/null || { cat "$work/gateway.log" >&2; die "the gateway exited (port $GATEWAY_PORT taken?)"; }
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) before the run" >&2
if [ -n "${IDLE_BURN:-}" ]; then
  for _ in $(seq 1 "$(nproc)"); do nice -n 19 sh -c 'while :; do :; done' & pids+=($!); done
  echo "IDLE_BURN: $(nproc) nice-19 busy loops running (diagnostic: no vCPU halts)" >&2
fi

run() { # URL CONNS -> key=value line
  timeout $((DURATION + 60)) "$tools/stream-load" "$1/v1/chat/completions" "$2" "$DURATION" "$work/body.json" "$DELTAS" "$GAP_MS"
}
field() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }

echo
echo "streamed: $DELTAS deltas ${GAP_MS} ms apart, ${DURATION} s per row; µs; added = gateway - direct"
printf '%5s %-7s | %7s %7s | %7s %7s | %7s %7s %7s | %7s %7s | %7s | %s\n' conns path "ttfb50" "ttfb99" "lat50" "lat99" "gap50" "gap99" "gapmax" "jit50" "jit99" "streams" "dropped/incomplete/stalls/errors"
for rep in $(seq 1 "$REPEAT"); do
  for c in $STREAM_CONNS; do
    # Warm up at this concurrency first (connections made, pools filled): steady state is measured.
    DURATION=1 run "http://127.0.0.1:$MOCK_PORT" "$c" >/dev/null; DURATION=1 run "http://127.0.0.1:$GATEWAY_PORT" "$c" >/dev/null
    d=$(run "http://127.0.0.1:$MOCK_PORT" "$c"); g=$(run "http://127.0.0.1:$GATEWAY_PORT" "$c")
    for pair in "direct:$d" "gateway:$g"; do
      name=${pair%%:*}; line=${pair#*:}
      printf '%5s %-7s | %7s %7s | %7s %7s | %7s %7s %7s | %7s %7s | %7s | %s/%s/%s/%s\n' "$c" "$name" \
        "$(field "$line" ttfb_p50_us)" "$(field "$line" ttfb_p99_us)" "$(field "$line" latency_p50_us)" "$(field "$line" latency_p99_us)" \
        "$(field "$line" gap_p50_us)" "$(field "$line" gap_p99_us)" "$(field "$line" gap_max_us)" \
        "$(field "$line" jitter_p50_us)" "$(field "$line" jitter_p99_us)" "$(field "$line" streams)" \
        "$(field "$line" dropped_frames)" "$(field "$line" incomplete)" "$(field "$line" stalls)" "$(( $(field "$line" errors) + $(field "$line" non2xx) ))"
    done
    printf '%5s %-7s | %7s %7s | %7s %7s | %7s %7s %7s | %7s %7s |\n' "$c" added \
      $(( $(field "$g" ttfb_p50_us) - $(field "$d" ttfb_p50_us) )) $(( $(field "$g" ttfb_p99_us) - $(field "$d" ttfb_p99_us) )) \
      $(( $(field "$g" latency_p50_us) - $(field "$d" latency_p50_us) )) $(( $(field "$g" latency_p99_us) - $(field "$d" latency_p99_us) )) \
      $(( $(field "$g" gap_p50_us) - $(field "$d" gap_p50_us) )) $(( $(field "$g" gap_p99_us) - $(field "$d" gap_p99_us) )) \
      $(( $(field "$g" gap_max_us) - $(field "$d" gap_max_us) )) \
      $(( $(field "$g" jitter_p50_us) - $(field "$d" jitter_p50_us) )) $(( $(field "$g" jitter_p99_us) - $(field "$d" jitter_p99_us) ))
  done
done
echo
echo "machine load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "gateway VmHWM: $(awk '/^VmHWM/ {print $2, $3}' /proc/$gw/status) (peak RSS), VmRSS now: $(awk '/^VmRSS/ {print $2, $3}' /proc/$gw/status)"

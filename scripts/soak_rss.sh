#!/usr/bin/env bash
# RSS soak: the gateway with the 4,000-model catalog (scripts/bench-config-4k, usage logging on)
# under steady mixed load for SOAK_S seconds (default 600): wrk at 64 connections whose requests
# the load harness's mock answers after 20 ms (~3,000 requests/s), plus 16 paced streams. VmRSS is
# sampled every INTERVAL_S seconds; the summary fits a line to the samples after the first
# minute (warm-up) and prints its slope: a leak shows as a steady positive slope.
#
#   BENCH_HARNESS=DIR scripts/soak_rss.sh         # 10 minutes
#   BENCH_HARNESS=DIR SOAK_S=120 INTERVAL_S=5 scripts/soak_rss.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# BENCH_HARNESS (required; SHARED_BENCH is accepted too): the external load harness, a
# directory with run.sh (mock upstream, wrk, sse-load), post.lua and mock-upstream/.
BENCH_HARNESS=${BENCH_HARNESS:-${SHARED_BENCH:-}}
[ -n "$BENCH_HARNESS" ] || { echo "$(basename "$0"): set BENCH_HARNESS to the load harness directory (run.sh, post.lua, mock-upstream/)" >&2; exit 2; }
CONFIG_DIR=${CONFIG_DIR:-$root/scripts/bench-config-4k}
SOAK_S=${SOAK_S:-600}
INTERVAL_S=${INTERVAL_S:-10}
PORT=${PORT:-7601}
OUT=${OUT:-}

die() { echo "soak_rss.sh: $*" >&2; exit 2; }
cargo build --release --quiet --manifest-path "$root/Cargo.toml" || die "gateway build failed"
cargo build --release --quiet --manifest-path "$BENCH_HARNESS/mock-upstream/Cargo.toml" \
  --target-dir "$BENCH_HARNESS/mock-upstream/target" || die "mock build failed"
tools=$BENCH_HARNESS/mock-upstream/target/release
work=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT; trap 'exit 130' INT TERM
"$tools/mock-upstream" 127.0.0.1:18080 >/dev/null 2>&1 & pids+=($!)
SAR_BENCH_DIR=$work RUST_LOG=warn "$root/target/release/smart-ai-router" serve --config-dir "$CONFIG_DIR" \
  --port "$PORT" >"$work/gateway.log" 2>&1 & gw=$!; pids+=($gw)
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || { cat "$work/gateway.log" >&2; die "the gateway did not start"; }
printf '{"model":"mock-model","messages":[{"role":"user","content":"Say hello. [mock delay_ms=20]"}],"max_tokens":32}' >"$work/plain.json"
printf '{"model":"mock-model","stream":true,"messages":[{"role":"user","content":"Say hello. [mock chunk_delay_ms=20]"}],"max_tokens":32}' >"$work/stream.json"
echo "git $(git -C "$root" rev-parse --short HEAD), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); soak ${SOAK_S}s, sample every ${INTERVAL_S}s"
BENCH_BODY_FILE=$work/plain.json BENCH_TOKEN=sk-bench wrk -t1 -c64 -d"${SOAK_S}s" --timeout 10s \
  -s "$BENCH_HARNESS/post.lua" "http://127.0.0.1:$PORT/v1/chat/completions" >"$work/wrk.txt" 2>&1 & pids+=($!)
BENCH_TOKEN=sk-bench "$tools/sse-load" "http://127.0.0.1:$PORT/v1/chat/completions" 16 "$SOAK_S" "$work/stream.json" \
  >"$work/sse.txt" 2>&1 & pids+=($!)
start=$(date +%s)
echo "seconds,rss_kb" >"$work/rss.csv"
while :; do
  t=$(( $(date +%s) - start ))
  [ "$t" -gt "$SOAK_S" ] && break
  echo "$t,$(awk '/^VmRSS/ {print $2}' "/proc/$gw/status")" >>"$work/rss.csv"
  sleep "$INTERVAL_S"
done
sleep 2
[ -n "$OUT" ] && cp "$work/rss.csv" "$OUT"
echo "wrk: $(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt") rps, $(awk '/requests in/ {print $1}' "$work/wrk.txt") requests, non-2xx: $(awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$work/wrk.txt")"
echo "sse-load: $(cat "$work/sse.txt")"
echo "usage lines written: $(cat "$work"/logs/usage_*.jsonl 2>/dev/null | wc -l); dropped: $(curl -s "http://127.0.0.1:$PORT/health" | grep -o '"dropped_records":[0-9]*')"
awk -F, 'NR > 1 {print}' "$work/rss.csv" | awk -F, '
  {t[NR] = $1; r[NR] = $2; if (NR == 1 || $2 < lo) lo = $2; if ($2 > hi) hi = $2}
  END {
    for (i = 1; i <= NR; i++) if (t[i] >= 60) {n++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i]; if (!f) f = r[i]; l = r[i]}
    slope = (n > 1) ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
    printf "RSS: first %d kB, at 60 s %d kB, last %d kB, min %d kB, max %d kB; slope after 60 s: %.1f kB/min (%d samples)\n", r[1], f, l, lo, hi, slope * 60, n
    printf "samples (s:MB):"; for (i = 1; i <= NR; i += (NR > 30 ? int(NR / 30) : 1)) printf " %d:%.1f", t[i], r[i] / 1024; printf "\n"
  }'
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# The request history at scale (benches/history.rs): fill a SQLite history with
# HISTORY_BENCH_ROWS synthetic calls (default 1,000,000; kept in target/bench-history/ so a
# second run only queries), then time searches (target ≤ 100 ms) and pages (≤ 50 ms) and print
# the database size per request. SQLite's C code is optimised either way, so the bench is built
# without LTO to save build time.
#
#   scripts/bench_history.sh
#   HISTORY_BENCH_ROWS=100000 scripts/bench_history.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_PROFILE_BENCH_LTO=false CARGO_PROFILE_BENCH_CODEGEN_UNITS=16 \
  cargo bench --bench history

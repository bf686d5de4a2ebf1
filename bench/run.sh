#!/usr/bin/env bash
# The benchmarks in one command: ensures Postgres and nats-server, builds the release binary,
# runs the criterion change-detection bench and every scenario of examples/bench/, prints a table
# and writes BENCHMARKS.md. Takes about an hour on 2 cores.
# BENCH_ONLY=<section>,… runs a subset and rewrites only those sections of BENCHMARKS.md:
#   issue 9:  sync110 sync1k sync10k latency intake detection dbwrite
#             (the criterion benches of change detection and milestones run with "detection")
#   issue 17: watchlatency watchidle watchrefresh watchmany
#   issue 19: endpoints
#   issue 16: companies fairness sharedkey (BENCH_FAIRNESS_LARGE=5000 for the full-size fairness run;
#             BENCH_COMPANIES=<n> runs companies with n instead of 200, for iteration)
#   issue 23: mixed (BENCH_MIXED_WEBHOOKS=<n>/s, default 1000; BENCH_MIXED_SECS, default 60;
#             BENCH_MIXED_ROUNDS=calm or =abused runs only that round, for iteration)
# BENCH_SERVICE_ENV="KEY=value,…" starts every service of the run with those settings on top of the
#   scenario's (to try a setting such as WORKER_CONCURRENCY without a rebuild).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary
export ADMIN_DATABASE_URL NATS_SERVER_BIN
# Each scenario makes its own database, named after this run; drop them when the run ends
# (only this run's: another run at the same time keeps its own).
export BENCH_DB_PREFIX="${BENCH_DB_PREFIX:-es_bench_$$_}"
trap "drop_scratch_databases '${BENCH_DB_PREFIX//_/\\_}%'" EXIT
export SQLX_OFFLINE=true

echo "building (release)…" >&2
cargo build --release --quiet
cargo build --release --quiet --example bench
if [ -z "${BENCH_ONLY:-}" ] || [[ ",${BENCH_ONLY}," == *",detection,"* ]]; then
  echo "criterion: change detection on 100k employees…" >&2
  cargo bench --quiet --bench change_detection -- --noplot 2>&1 | grep -Ev '^(Gnuplot|WARNING: HTML)' || true
  echo "criterion: milestone evaluation on 100k employees…" >&2
  cargo bench --quiet --bench milestones -- --noplot 2>&1 | grep -Ev '^(Gnuplot|WARNING: HTML)' || true
fi
cargo run --release --quiet --example bench

#!/usr/bin/env bash
# Instructions per webhook of `employes-sync serve --roles http` and of the baseline handler,
# counted by callgrind: unlike timings on this shared 2-core machine, the counts repeat run to run.
# Both servers run under valgrind; each gets a warm-up, then its counters are zeroed, N webhooks
# are sent by `bench load` and the counters dumped. Prints instructions per webhook, and the same
# without SHA-256 compression (valgrind hides the CPU's SHA extensions, so sha2 runs in software
# here and costs ~10× what it does natively). Profiles stay in target/bench-results/callgrind/
# for `callgrind_annotate --inclusive=yes --tree=calling`.
# usage: bench/callgrind-intake.sh [webhooks, default 2000]   (~2 min)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary
command -v valgrind >/dev/null || apt_install valgrind
command -v python3 >/dev/null || apt_install python3
export SQLX_OFFLINE=true
N="${1:-2000}"
OUT=target/bench-results/callgrind
mkdir -p "$OUT"
rm -f "$OUT"/*.out*
cargo build --release --quiet
cargo build --release --quiet --example bench
BENCH=target/release/examples/bench
# The key `bench load` signs with (the testkit's WEBHOOK_SECRET) and the company it names.
SECRET="$(grep -o 'WEBHOOK_SECRET: &str = "[^"]*"' testkit/src/lib.rs | cut -d'"' -f2)"
COMPANY=7e3f2a10-5b6c-4d8e-9f01-23456789abcd
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  drop_scratch_databases 'es\_callgrind\_%'
  rm -rf "$WORK"
}
trap cleanup EXIT

NATS_PORT="$(free_port)"
"$NATS_SERVER_BIN" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)
DB="es_callgrind_$$"
psql "$ADMIN_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
DATABASE_URL="${ADMIN_DATABASE_URL%/*}/$DB"

HTTP_PORT="$(free_port)"
env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" NATS_URL="nats://127.0.0.1:$NATS_PORT" \
  NATS_SUBJECT_PREFIX=cg HTTP_ADDR="127.0.0.1:$HTTP_PORT" EMPLOYES_API_URL=http://127.0.0.1:9/ \
  EMPLOYES_API_KEY=callgrind-key EMPLOYES_COMPANY_ID="$COMPANY" WEBHOOK_SECRET="$SECRET" \
  API_TOKENS=bench:callgrind-token-0123456789 SYNC_SCHEDULE=off LOG_FORMAT=json RUST_LOG=info \
  valgrind --tool=callgrind --callgrind-out-file="$OUT/service.out" \
  target/release/employes-sync serve --roles http >"$WORK/service.log" 2>&1 &
SERVICE=$!
PIDS+=($SERVICE)
valgrind --tool=callgrind --callgrind-out-file="$OUT/baseline.out" \
  "$BENCH" baseline-server "nats://127.0.0.1:$NATS_PORT" >"$WORK/baseline.addr" 2>"$WORK/baseline.log" &
BASELINE=$!
PIDS+=($BASELINE)

wait_http() {
  for _ in $(seq 600); do
    if [ -n "$1" ] && (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "server at '$1' did not start" >&2
  return 1
}
wait_http "127.0.0.1:$HTTP_PORT"
for _ in $(seq 600); do [ -s "$WORK/baseline.addr" ] && break; sleep 0.1; done
BASELINE_ADDR="$(head -1 "$WORK/baseline.addr" | sed 's|^listening on http://||')"
wait_http "$BASELINE_ADDR"

count() { # name pid url -> "total sha"
  local name=$1 pid=$2 url=$3
  "$BENCH" load "$url" "$COMPANY" 300 8 >/dev/null
  callgrind_control -z "$pid" >/dev/null
  "$BENCH" load "$url" "$COMPANY" "$N" 8 >"$WORK/$name.load"
  # Only accepted webhooks measure intake (a rejection takes another path, with a database write).
  if ! grep -q ', 0 errors$' "$WORK/$name.load"; then
    echo "$name: not every webhook was accepted: $(cat "$WORK/$name.load")" >&2
    return 1
  fi
  callgrind_control -d "$pid" >/dev/null
  sleep 0.5
  local file
  file="$(ls -t "$OUT/$name.out".* | head -1)"
  local total sha
  total="$(grep '^summary:' "$file" | awk '{print $2}')"
  sha="$(callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null |
    awk '/sha2::sha256::compress256 \[/ && !seen {gsub(",", "", $1); print $1; seen = 1}')"
  echo "${total:-0} ${sha:-0}"
}
SERVICE_COUNT="$(count service "$SERVICE" "http://127.0.0.1:$HTTP_PORT/webhooks/employes")"
BASELINE_COUNT="$(count baseline "$BASELINE" "http://$BASELINE_ADDR/webhooks/employes")"
read -r S_TOTAL S_SHA <<<"$SERVICE_COUNT"
read -r B_TOTAL B_SHA <<<"$BASELINE_COUNT"
if [ "$S_SHA" = 0 ]; then
  echo "warning: no sha2 compress256 in the service profile; its second column includes SHA-256" >&2
fi

printf '%-10s %14s %22s\n' "" "instr/webhook" "without SHA-256 blocks"
printf '%-10s %14d %22d\n' service $((S_TOTAL / N)) $(((S_TOTAL - S_SHA) / N))
printf '%-10s %14d %22d\n' baseline $((B_TOTAL / N)) $(((B_TOTAL - B_SHA) / N))
echo "ratio (service / baseline, without SHA): $(python3 -c "print(round(($S_TOTAL-$S_SHA)/max(1,$B_TOTAL-$B_SHA), 2))")"
echo "profiles: $OUT/"

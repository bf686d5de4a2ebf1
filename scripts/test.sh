#!/usr/bin/env bash
# Runs the whole test suite. Starts (or installs) what the tests need: Postgres and nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary
# The contract checks (schemathesis, @asyncapi/parser, openapi-spec-validator, a generated client)
# install their tools on first use; here a tool that cannot be installed fails its test.
ensure_contract_prerequisites
export CONTRACT_TOOLS_REQUIRED=1
export TEST_DATABASE_URL="$ADMIN_DATABASE_URL"
# Every test makes its own database, named after this run (`es_test_p<pid>_…`): drop those of runs
# that are no longer alive (an interrupted run), and this run's when it ends (pass or fail). A run
# going on beside this one keeps its databases.
export TEST_DB_PREFIX="es_test_p$$_"
drop_dead_runs() {
  psql "$ADMIN_DATABASE_URL" -Atqc "select datname from pg_database where datname ~ '^es_test_p[0-9]+_'" 2>/dev/null |
    while read -r db; do
      pid="${db#es_test_p}"; pid="${pid%%_*}"
      if ! kill -0 "$pid" 2>/dev/null; then drop_scratch_databases "$db"; fi
    done || true
}
drop_dead_runs
trap 'drop_scratch_databases "es\_test\_p$$\_%" "employes\_sync\_browser\_%"' EXIT
export SQLX_OFFLINE=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The dashboard in a real browser (headless Chromium against the real service + simulator).
./scripts/browser-test.sh

#!/usr/bin/env bash
# Runs the whole test suite. Starts (or installs) what the tests need: Postgres and nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary
export TEST_DATABASE_URL="$ADMIN_DATABASE_URL"
# Every test makes its own database: drop those an interrupted run left behind, and this run's
# when it ends (pass or fail).
drop_test_databases() { drop_scratch_databases 'es\_test\_%' 'employes\_sync\_browser\_%'; }
drop_test_databases
trap drop_test_databases EXIT
export SQLX_OFFLINE=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The dashboard in a real browser (headless Chromium against the real service + simulator).
./scripts/browser-test.sh

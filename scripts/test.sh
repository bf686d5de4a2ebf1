#!/usr/bin/env bash
# Runs the whole test suite. Starts (or installs) what the tests need: Postgres and nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary
export TEST_DATABASE_URL="$ADMIN_DATABASE_URL"
# Every test makes its own database; drop the ones earlier runs left behind.
psql "$ADMIN_DATABASE_URL" -Atqc "select datname from pg_database where datname like 'es\_test\_%' or datname like 'employes\_sync\_browser\_%'" |
  while read -r db; do psql "$ADMIN_DATABASE_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null || true; done
export SQLX_OFFLINE=true
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The dashboard in a real browser (headless Chromium against the real service + simulator).
./scripts/browser-test.sh

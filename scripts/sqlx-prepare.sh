#!/usr/bin/env bash
# Regenerates the committed `.sqlx/` offline query data (what `cargo sqlx prepare` does), or with
# `--check` fails when it is out of date — without sqlx-cli: the query macros themselves write their
# data to SQLX_OFFLINE_DIR when they run against a database. Uses a scratch database migrated from
# `migrations/` and drops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres

check=false
if [ "${1:-}" = "--check" ]; then check=true; fi

db="es_prepare_$$"
base="${ADMIN_DATABASE_URL%/*}"
out="$(mktemp -d)"
cleanup() {
  psql "$ADMIN_DATABASE_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  rm -rf "$out"
}
trap cleanup EXIT
psql "$ADMIN_DATABASE_URL" -qc "create database \"$db\"" >/dev/null
for f in migrations/*.sql; do
  psql "$base/$db" -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done

# The macros only run when the crate is compiled again: touch every crate root that may hold one.
touch src/lib.rs src/main.rs
find tests examples benches -maxdepth 2 -name '*.rs' -exec touch {} + 2>/dev/null || true
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$base/$db" \
  cargo check --quiet --all-targets --locked

if $check; then
  if ! diff -r -q .sqlx "$out" >/dev/null; then
    echo "error: .sqlx/ is out of date with the queries; run ./scripts/sqlx-prepare.sh and commit .sqlx/" >&2
    diff -r -q .sqlx "$out" >&2 || true
    exit 1
  fi
  echo ".sqlx/ matches every query ($(ls "$out" | wc -l) queries)" >&2
else
  rm -rf .sqlx
  mkdir -p .sqlx
  cp "$out"/*.json .sqlx/ 2>/dev/null || true
  echo ".sqlx/ regenerated: $(ls .sqlx | wc -l) queries" >&2
fi

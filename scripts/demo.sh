#!/usr/bin/env bash
# Runs the service with its dashboard on http://localhost:8080/employes-sync against the
# built-in Employes simulator. Starts (or installs) Postgres and NATS JetStream when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_running
base="${ADMIN_DATABASE_URL%/*}"
psql "$ADMIN_DATABASE_URL" -Atqc "select 1 from pg_database where datname = 'employes_sync'" | grep -q 1 \
  || psql "$ADMIN_DATABASE_URL" -qc "create database employes_sync"
export DATABASE_URL="${DATABASE_URL:-$base/employes_sync}"
token="demo-token-$(hostname | md5sum | cut -c1-16)"
export API_TOKENS="${API_TOKENS:-demo:$token}"
export WEBHOOK_SECRET="${WEBHOOK_SECRET:-whsec_ZGVtby13ZWJob29rLXNlY3JldC1rZXk=}"
export HTTP_ADDR="${HTTP_ADDR:-0.0.0.0:8080}"
echo "dashboard: http://localhost:8080/employes-sync#token=$token" >&2
export SQLX_OFFLINE=true
exec cargo run --quiet --bin employes-sync -- serve

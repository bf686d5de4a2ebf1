#!/usr/bin/env bash
# Sourced by the other scripts: make sure Postgres, nats-server (and friends) exist here.
# Installs missing packages with apt on a fresh Debian machine; never touches a working setup.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_install() {
  if [ -z "${ES_APT_UPDATED:-}" ]; then
    $SUDO apt-get update -qq >/dev/null
    ES_APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

nats_bin() {
  for p in "${NATS_SERVER_BIN:-}" /usr/sbin/nats-server /usr/bin/nats-server /usr/local/bin/nats-server; do
    if [ -n "$p" ] && [ -x "$p" ]; then echo "$p"; return 0; fi
  done
  return 1
}

ensure_nats_binary() {
  if ! nats_bin >/dev/null; then
    echo "installing nats-server…" >&2
    apt_install nats-server
  fi
  NATS_SERVER_BIN="$(nats_bin)"
  export NATS_SERVER_BIN
}

# A NATS with JetStream on 127.0.0.1:4222 (for the demo): reuse a running one or start one.
ensure_nats_running() {
  ensure_nats_binary
  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then return 0; fi
  local store="${TMPDIR:-/tmp}/employes-sync-nats"
  mkdir -p "$store"
  echo "starting nats-server -js on 127.0.0.1:4222 (store $store)…" >&2
  "$NATS_SERVER_BIN" -a 127.0.0.1 -p 4222 -js -sd "$store" >"$store/server.log" 2>&1 &
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && return 0; sleep 0.1; done
  echo "nats-server did not start; see $store/server.log" >&2
  return 1
}

# What scripts/contracts.sh needs to install its tools: python3 with venv (Debian splits it out)
# and node with npm. The tools themselves go into target/tools/.
ensure_contract_prerequisites() {
  if ! command -v python3 >/dev/null || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    echo "installing python3 and python3-venv…" >&2
    apt_install python3 python3-venv
  fi
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "installing node and npm…" >&2
    apt_install nodejs npm
  fi
}

pg_ok() { psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

# Exports ADMIN_DATABASE_URL: a Postgres we may create databases on.
# Order: $TEST_DATABASE_URL, the local server on 5432, else a throwaway cluster (initdb) on 55432.
ensure_postgres() {
  command -v psql >/dev/null || apt_install postgresql postgresql-client
  if [ -n "${TEST_DATABASE_URL:-}" ] && pg_ok "$TEST_DATABASE_URL"; then
    ADMIN_DATABASE_URL="$TEST_DATABASE_URL"; export ADMIN_DATABASE_URL; return 0
  fi
  local local_url="postgres://postgres@127.0.0.1:5432/postgres"
  if pg_ok "$local_url"; then ADMIN_DATABASE_URL="$local_url"; export ADMIN_DATABASE_URL; return 0; fi
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
    for _ in $(seq 30); do pg_ok "$local_url" && break; sleep 0.2; done
    if pg_ok "$local_url"; then ADMIN_DATABASE_URL="$local_url"; export ADMIN_DATABASE_URL; return 0; fi
  fi
  # Throwaway cluster with trust auth, owned by the postgres user (initdb refuses root).
  local bindir; bindir="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  local dir="${TMPDIR:-/tmp}/employes-sync-pg"
  local url="postgres://postgres@127.0.0.1:55432/postgres"
  if ! pg_ok "$url"; then
    echo "starting a throwaway Postgres cluster in $dir on port 55432…" >&2
    local run=(); if [ "$(id -u)" = 0 ]; then run=(runuser -u postgres --); fi
    if [ ! -f "$dir/PG_VERSION" ]; then
      mkdir -p "$dir"; chown postgres "$dir" 2>/dev/null || true
      "${run[@]}" "$bindir/initdb" -D "$dir" -A trust -U postgres >/dev/null
    fi
    "${run[@]}" "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
      -o "-p 55432 -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off" start >/dev/null
  fi
  ADMIN_DATABASE_URL="$url"; export ADMIN_DATABASE_URL
}

# Drop the throwaway databases tests and benchmarks make (one per test or scenario), e.g.
# `drop_scratch_databases 'es\_test\_%' 'employes\_sync\_browser\_%'`. Needs ADMIN_DATABASE_URL.
drop_scratch_databases() {
  local pattern where=""
  for pattern in "$@"; do where="${where:+$where or }datname like '$pattern'"; done
  psql "$ADMIN_DATABASE_URL" -Atqc "select datname from pg_database where $where" 2>/dev/null |
    while read -r db; do psql "$ADMIN_DATABASE_URL" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true; done ||
    true
}

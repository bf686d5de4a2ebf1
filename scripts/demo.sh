#!/usr/bin/env bash
# The demo: Postgres and NATS JetStream (installed or started when missing), the release build of
# employes-sync (rebuilt only when the sources changed), and the service with its dashboard,
# syncing against the built-in Employes simulator. It prints the dashboard link, signed in as a
# person, once the service answers /readyz.
#
# It also puts `employes-sync` on PATH (a small wrapper in $CARGO_HOME/bin, next to cargo) that runs
# this build with the demo's settings (target/demo/employes-sync.env; your environment wins), so
# `employes-sync sync --wait` works as written in another shell. Stop the demo with Ctrl-C.
#
# Settings taken from the environment when set: DATABASE_URL, NATS_URL, NATS_SUBJECT_PREFIX,
# HTTP_ADDR, SIMULATOR_ADDR, AUTH_JWT_SECRET, WEBHOOK_SECRET, DEMO_EMAIL (who the link signs in).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
source scripts/services.sh

say() { printf '\033[1m%s\033[0m\n' "$*" >&2; }

ensure_postgres
ensure_nats_running
if [ -z "${DATABASE_URL:-}" ]; then
  psql "$ADMIN_DATABASE_URL" -Atqc "select 1 from pg_database where datname = 'employes_sync'" | grep -q 1 ||
    psql "$ADMIN_DATABASE_URL" -qc "create database employes_sync"
  DATABASE_URL="${ADMIN_DATABASE_URL%/*}/employes_sync"
fi

state="$root/target/demo"
env_file="$state/employes-sync.env"
mkdir -p "$state"
# The sign-in secret outlives a restart (links printed before keep working); made once, at random.
previous_secret="$(sed -n 's/^AUTH_JWT_SECRET=//p' "$env_file" 2>/dev/null || true)"
secret="${AUTH_JWT_SECRET:-${previous_secret:-$(head -c 32 /dev/urandom | base64 | tr -d '\n')}}"
http_addr="${HTTP_ADDR:-0.0.0.0:8080}"
(
  umask 077
  cat >"$env_file" <<EOF
# Written by scripts/demo.sh: the settings of the demo (KEY=VALUE; a --config file, or source it).
DATABASE_URL=$DATABASE_URL
NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
NATS_SUBJECT_PREFIX=${NATS_SUBJECT_PREFIX:-employes}
HTTP_ADDR=$http_addr
SIMULATOR_ADDR=${SIMULATOR_ADDR:-127.0.0.1:8090}
AUTH_JWT_SECRET=$secret
WEBHOOK_SECRET=${WEBHOOK_SECRET:-whsec_ZGVtby13ZWJob29rLXNlY3JldC1rZXk=}
EOF
)

say "building the release binary (the first build takes several minutes; later ones only rebuild what changed)…"
SQLX_OFFLINE=true cargo build --release --locked --bin employes-sync
bin="$root/target/release/employes-sync"

# `employes-sync` on PATH: cargo's own bin folder is on PATH wherever cargo is.
bin_dir="${CARGO_HOME:-$HOME/.cargo}/bin"
wrapper="$bin_dir/employes-sync"
marker="# employes-sync demo wrapper"
if [ ! -e "$wrapper" ] || grep -q "^$marker" "$wrapper" 2>/dev/null; then
  mkdir -p "$bin_dir"
  cat >"$wrapper" <<EOF
#!/bin/sh
$marker (written by $root/scripts/demo.sh; delete it to remove it):
# runs that checkout's release build with the demo's settings; variables you set win over them.
export CONFIG_FILE="\${CONFIG_FILE:-$env_file}"
exec "$bin" "\$@"
EOF
  chmod +x "$wrapper"
else
  say "note: $wrapper exists and is not this demo's wrapper; left as it is"
fi
case ":$PATH:" in
  *":$bin_dir:"*) cli="employes-sync" ;;
  *) cli="$wrapper" ;;
esac

# The service, with exactly the demo's settings (the file), stopped with us.
CONFIG_FILE="$env_file" "$bin" serve &
pid=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  exit 0
}
trap stop INT TERM EXIT

# Where it answers: HTTP_ADDR's port; a wildcard host is this machine.
port="${http_addr##*:}"
host="${http_addr%:*}"
host="${host#[}" && host="${host%]}"
case "$host" in 0.0.0.0 | :: | "") host=localhost probe=127.0.0.1 ;; *) probe="$host" ;; esac
case "$host" in *:*) host="[$host]" ;; esac
case "$probe" in *:*) probe="[$probe]" ;; esac
base="http://$host:$port"

say "waiting for the service to answer $base/readyz…"
until "$bin" healthcheck --url "http://$probe:$port/readyz" 2>/dev/null; do
  if ! kill -0 "$pid" 2>/dev/null; then
    trap - INT TERM EXIT
    wait "$pid" || status=$?
    say "the service stopped before it was ready (exit ${status:-0}); its last lines are above"
    exit "${status:-1}"
  fi
  sleep 0.3
done

email="${DEMO_EMAIL:-demo@example.com}"
token="$(CONFIG_FILE="$env_file" "$bin" token --email "$email" --ttl 8h)"
echo >&2
say "employes-sync is ready"
cat >&2 <<EOF
  dashboard     $base/employes-sync#token=$token
                (signed in as $email for 8 h; \`$cli token --email ADDRESS\` makes other sign-in tokens)
  API docs      $base/api/docs/
  simulator     http://${SIMULATOR_ADDR:-127.0.0.1:8090}/_sim/stats (the built-in Employes stand-in)

  In another shell:   $cli sync --wait
  ($cli runs this build with $env_file;
   without it, export DATABASE_URL=$DATABASE_URL NATS_URL=${NATS_URL:-nats://127.0.0.1:4222} NATS_SUBJECT_PREFIX=${NATS_SUBJECT_PREFIX:-employes})

  Stop with Ctrl-C.
EOF
# Until Ctrl-C (the trap stops the service), or until the service ends by itself.
set +e
wait "$pid"
status=$?
trap - INT TERM EXIT
exit "$status"

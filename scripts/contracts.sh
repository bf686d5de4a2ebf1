#!/usr/bin/env bash
# contracts.sh COMMAND ARGS: third-party checks of the service's published documents, each tool
# installed when missing into target/tools/ from the pinned lists in tests/contracts/ (a Python
# virtual environment from requirements.txt, npm packages from package-lock.json; nothing outside
# the repository changes). The tests in `http::tests`, `asyncapi::tests` and the integration
# module `contracts` run it.
#
#   openapi-validate FILE          openapi-spec-validator on an OpenAPI document
#   asyncapi-validate FILE         @asyncapi/parser (errors and warnings) on an AsyncAPI document
#   schemathesis URL TOKEN...      schemathesis (all checks, stateful links) against a running
#                                  service, once per API token (one per role); SCHEMATHESIS_*
#                                  settings in the environment pass through (see tests/contracts/);
#                                  CONTRACT_MILESTONE_ID names a notice_due milestone to acknowledge
#   python-client URL TOKEN        generate a client with openapi-python-client from URL's
#                                  /api/openapi.json and run tests/contracts/client_smoke.py with it
#
# Exit 0 when the check passes, 1 when it fails, 3 when a tool cannot be installed (no python3 or
# venv module, no node/npm, no package index).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
tools="${CARGO_TARGET_DIR:-$root/target}/tools"
mkdir -p "$tools"

unavailable() { echo "$*" >&2; exit 3; }

# The virtual environment of tests/contracts/requirements.txt (named after its hash, so a changed
# list installs a new one); prints its directory.
python_tools() {
  local hash venv
  hash="$(sha256sum tests/contracts/requirements.txt | cut -c1-12)"
  venv="$tools/contracts-py-$hash"
  exec 8>"$venv.lock"
  flock 8
  if [[ ! -f "$venv/.installed" ]]; then
    command -v python3 >/dev/null || unavailable "no python3 on PATH (Debian: apt-get install python3 python3-venv)"
    echo "installing the Python contract tools into $venv…" >&2
    rm -rf "$venv"
    python3 -m venv "$venv" >&2 || unavailable "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/contracts/requirements.txt >&2 ||
      unavailable "pip install -r tests/contracts/requirements.txt failed"
    touch "$venv/.installed" # last: an interrupted install is made again
  fi
  exec 8>&-
  echo "$venv"
}

# The npm packages of tests/contracts/package-lock.json; prints the folder holding node_modules.
node_tools() {
  local hash dir
  command -v node >/dev/null && command -v npm >/dev/null || unavailable "no node/npm on PATH (Debian: apt-get install nodejs npm)"
  hash="$(cat tests/contracts/package.json tests/contracts/package-lock.json | sha256sum | cut -c1-12)"
  dir="$tools/contracts-node-$hash"
  exec 8>"$dir.lock"
  flock 8
  if [[ ! -f "$dir/.installed" ]]; then
    echo "installing the npm contract tools into $dir…" >&2
    rm -rf "$dir" && mkdir -p "$dir"
    cp tests/contracts/package.json tests/contracts/package-lock.json "$dir/"
    (cd "$dir" && npm ci --silent --no-audit --no-fund >&2) || unavailable "npm ci in $dir failed"
    touch "$dir/.installed"
  fi
  exec 8>&-
  echo "$dir"
}

command="${1:?usage: contracts.sh openapi-validate|asyncapi-validate|schemathesis|python-client ARGS}"
shift
case "$command" in
  openapi-validate)
    file="$(realpath "${1:?usage: contracts.sh openapi-validate FILE}")"
    venv="$(python_tools)"
    "$venv/bin/python" -m openapi_spec_validator "$file" || exit 1
    ;;
  asyncapi-validate)
    file="$(realpath "${1:?usage: contracts.sh asyncapi-validate FILE}")"
    dir="$(node_tools)"
    cp tests/contracts/asyncapi-validate.mjs "$dir/"
    node "$dir/asyncapi-validate.mjs" "$file" || exit 1
    ;;
  schemathesis)
    url="${1:?usage: contracts.sh schemathesis URL TOKEN...}"
    shift
    [[ $# -gt 0 ]] || { echo "contracts.sh schemathesis: at least one API token" >&2; exit 2; }
    venv="$(python_tools)"
    status=0
    for token in "$@"; do
      # The hooks sign webhook deliveries and add the check that every response field is documented.
      CONTRACT_TOKEN="$token" SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$root/tests/contracts" \
        "$venv/bin/schemathesis" --config-file "$root/tests/contracts/schemathesis.toml" run "$url/api/openapi.json" \
        --header "Authorization: Bearer $token" || status=1
    done
    exit "$status"
    ;;
  python-client)
    url="${1:?usage: contracts.sh python-client URL TOKEN}"
    token="${2:?usage: contracts.sh python-client URL TOKEN}"
    venv="$(python_tools)"
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && "$venv/bin/openapi-python-client" generate --fail-on-warning --url "$url/api/openapi.json" \
      --meta none --output-path employes_sync_client --config "$root/tests/contracts/client-config.yaml") || exit 1
    PYTHONPATH="$work" "$venv/bin/python" "$root/tests/contracts/client_smoke.py" "$url" "$token" || exit 1
    ;;
  *)
    echo "contracts.sh: unknown command $command" >&2
    exit 2
    ;;
esac

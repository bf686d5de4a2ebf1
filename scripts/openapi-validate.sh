#!/usr/bin/env bash
# openapi-validate.sh FILE: checks an OpenAPI document with openapi-spec-validator (PyPI), installed
# into a virtual environment under target/tools/ when missing (nothing outside the repository
# changes). Exit 0 when valid, 1 when not, 3 when the validator cannot be installed (no python3,
# no venv module, no package index). The unit test `http::tests::the_document_is_valid_openapi_…`
# runs it on the document the service serves at /api/openapi.json.
set -euo pipefail
file="$(realpath "${1:?usage: openapi-validate.sh FILE}")"
cd "$(dirname "$0")/.."

VERSION=0.9.0
venv="${CARGO_TARGET_DIR:-target}/tools/openapi-spec-validator-$VERSION"

install() {
  command -v python3 >/dev/null || { echo "no python3 on PATH" >&2; return 3; }
  echo "installing openapi-spec-validator $VERSION into $venv…" >&2
  rm -rf "$venv"
  python3 -m venv "$venv" >&2 || { echo "python3 -m venv failed" >&2; return 3; }
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "openapi-spec-validator==$VERSION" >&2 ||
    { echo "pip install openapi-spec-validator==$VERSION failed" >&2; return 3; }
  # Written last: a venv without it (an interrupted install) is made again.
  touch "$venv/.installed"
}

mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
[[ -f "$venv/.installed" ]] || install || exit 3
"$venv/bin/python" -m openapi_spec_validator "$file" || exit 1

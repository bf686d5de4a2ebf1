#!/usr/bin/env bash
# Runs deploy/validate.py (the checks of every deployment file; `--help` lists its options),
# first installing python3 with apt on a machine that lacks it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v python3 >/dev/null; then
  # shellcheck source=scripts/services.sh
  source scripts/services.sh
  echo "installing python3…" >&2
  apt_install python3 python3-yaml
fi
exec python3 deploy/validate.py "$@"

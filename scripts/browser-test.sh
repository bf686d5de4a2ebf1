#!/usr/bin/env bash
# Real-browser tests of the dashboard (tests/browser): headless system Chromium driven by
# playwright-core against the real binary and its built-in Employes simulator. The test starts
# its own nats-server and creates a fresh database; screenshots go to target/browser-screenshots/.
# Installs what a fresh Debian machine lacks: Chromium (apt), the test's node_modules (npm ci).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
ensure_postgres
ensure_nats_binary

if [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium…" >&2
  apt_install chromium
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "installing node and npm…" >&2
  apt_install nodejs npm
fi
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/axe-core ]; then
  # playwright-core never downloads a browser; the variable only makes sure nothing tries.
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

SQLX_OFFLINE=true cargo build --bin employes-sync
target_dir="${CARGO_TARGET_DIR:-target}"
TEST_DATABASE_URL="$ADMIN_DATABASE_URL" EMPLOYES_SYNC_BIN="$(cd "$target_dir" && pwd)/debug/employes-sync" \
  node --test --test-concurrency=1 tests/browser/*.test.mjs

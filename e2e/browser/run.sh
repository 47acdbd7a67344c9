#!/usr/bin/env bash
# Browser end-to-end tests of the dashboard: builds and starts the real
# platform (embedded PostgreSQL), drives Debian's Chromium with
# playwright-core, saves screenshots into e2e/browser/artifacts/.
# Needs: Go, Node.js 20+, PostgreSQL server binaries, /usr/bin/chromium
# (apt-get install -y chromium). DEVSMITH_E2E_BINARY=/path/devsmith skips
# the go build.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "e2e/browser: ${CHROMIUM_PATH:-/usr/bin/chromium} not found; install it with: apt-get install -y chromium" >&2
  exit 1
fi
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p artifacts
exec npm test --silent

#!/usr/bin/env bash
# Builds the dashboard into gateway/web/dist (committed, embedded by web.go).
# Installs the locked npm dependencies first when node_modules is missing or
# older than the lock file. Safe to run again: the output is deterministic.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "build.sh: npm is not installed (Node.js 20 or newer is needed to rebuild the dashboard)" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

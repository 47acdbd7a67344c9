#!/usr/bin/env bash
# Runs every samples unit test, each language in its own runner, and prints
# each runner's summary. Exits non-zero if any runner failed (all still run).
#   samples/test.sh                 # from anywhere
# Needs: node (18+) and npm, /usr/bin/python3 with python3-flask, go, javac
# and java (11+), ruby, php with the curl extension, bash and curl
# (.ci/run installs them from Debian's packages).
set -euo pipefail
cd "$(dirname "$0")"
SAMPLES="$(pwd)"
PYTHON="${PYTHON:-/usr/bin/python3}"
failed=()

section() { printf '\n=== samples/%s: %s\n' "$1" "$2"; }

run() { # run NAME DIR COMMAND...
  local name="$1" dir="$2"
  shift 2
  section "$name" "$*"
  if ! (cd "$SAMPLES/$dir" && "$@"); then
    failed+=("$name")
  fi
}

# Go: each sample is its own module, outside the repository's go.work.
go_race=()
if [ "$(go env CGO_ENABLED)" = "1" ] && command -v gcc >/dev/null 2>&1; then
  go_race=(-race)
fi

section sync "sync.sh --check (the example apps' logger copies match samples/{javascript,python,go})"
./sync.sh --check || failed+=("sync (a logger copy differs: run samples/sync.sh)")

run javascript javascript node --test --test-reporter=spec
if [ ! -d express/node_modules ]; then
  section express "npm ci --no-audit --no-fund"
  (cd express && npm ci --no-audit --no-fund) || failed+=("express (npm ci)")
fi
run express express node --test --test-reporter=spec
run python python "$PYTHON" -m unittest discover
run flask flask "$PYTHON" -m unittest discover
run go go env GOWORK=off go test -count=1 "${go_race[@]}" ./...
run gin gin env GOWORK=off go test -count=1 "${go_race[@]}" ./...
run grpc-go grpc-go env GOWORK=off go test -count=1 "${go_race[@]}" ./...
java_build="$(mktemp -d)"
trap 'rm -rf "$java_build"' EXIT
run java java bash -c "javac -d '$java_build' devsmith/*.java test/devsmith/*.java && java -cp '$java_build' devsmith.DevSmithLoggerTest"
run ruby ruby ruby test/test_devsmith_logger.rb
run php php php tests/DevSmithLoggerTest.php
run shell shell ./test.sh

echo
if [ ${#failed[@]} -gt 0 ]; then
  echo "samples: FAILED: ${failed[*]}"
  exit 1
fi
echo "samples: all tests passed"

#!/usr/bin/env bash
# The example apps carry their own copy of the sample logger, so that each
# folder runs when copied alone. The canonical files are the loggers in
# javascript/, python/ and go/; edit those, then run
#   samples/sync.sh           # copy each canonical file over its copies
#   samples/sync.sh --check   # exit 1, naming the file, when a copy differs (samples/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")"

# canonical file        copy in an example folder
COPIES=(
  "javascript/logger.js  express/logger.js"
  "python/logger.py      flask/logger.py"
  "go/logger.go          gin/logger/logger.go"
  "go/slog.go            gin/logger/slog.go"
)

check=0
[ "${1:-}" = "--check" ] && check=1
stale=0
for pair in "${COPIES[@]}"; do
  read -r src dst <<<"$pair"
  if [ $check = 1 ]; then
    if ! cmp -s "$src" "$dst"; then
      echo "samples/$dst differs from its canonical samples/$src: edit samples/$src and run samples/sync.sh" >&2
      stale=1
    fi
  else
    mkdir -p "$(dirname "$dst")"
    cp "$src" "$dst"
  fi
done
if [ $check = 1 ]; then
  [ $stale = 0 ] && echo "samples: every embedded logger matches its canonical file"
  exit $stale
fi

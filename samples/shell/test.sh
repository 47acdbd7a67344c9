#!/usr/bin/env bash
# Unit tests of devsmith-log.sh (bash and curl only): ./test.sh
# Prints "N passed, N failed"; exits 1 on a failure. Delivery to the real
# platform is tested in e2e/samples_test.go.
set -uo pipefail
cd "$(dirname "$0")"
. ./devsmith-log.sh
passed=0 failed=0
check() { # check NAME WANT GOT
  if [ "$2" = "$3" ]; then passed=$((passed + 1)); echo "ok   $1"; else failed=$((failed + 1)); printf 'FAIL %s:\n  want %s\n  got  %s\n' "$1" "$2" "$3"; fi
}

check "a string is JSON-escaped" '"q\"b\\s\tt\nn\rr-é"' "$(_devsmith_str $'q"b\\s\tt\nn\rr-\001\037é')"
check "an entry without context" '{"level":"warn","message":"disk 91% full"}' "$(_devsmith_entry warn 'disk 91% full')"
check "an entry with DEVSMITH_CONTEXT" '{"level":"INFO","message":"m","context":{"job":"backup"}}' "$(DEVSMITH_CONTEXT='{"job":"backup"}' _devsmith_entry INFO m)"
check "an empty message" '{"level":"INFO","message":"(empty message)"}' "$(_devsmith_entry INFO '')"

# A loopback port where nothing listens: network errors, retried, then given up.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 9)
export DEVSMITH_URL="http://127.0.0.1:$port/api/logs" DEVSMITH_API_KEY=dsk_secret_key_never_printed
start=$SECONDS
err=$(DEVSMITH_RETRIES=2 devsmith-log error "unreachable" 2>&1); rc=$?
check "an unreachable platform: exit 1" 1 "$rc"
check "an unreachable platform: retried, then given up" "devsmith-log: giving up after 3 attempts (HTTP 000)" "$err"
check "backoff 1 s then 2 s" 3 "$((SECONDS - start >= 3 && SECONDS - start < 6 ? 3 : SECONDS - start))"
check "the key is never printed" "" "$(grep -c dsk_secret <<<"$err" | grep -v '^0$')"
err=$(printf 'a\nb\n' | DEVSMITH_RETRIES=0 devsmith-log info 2>&1); rc=$?
check "stdin lines to an unreachable platform: exit 1" "1 devsmith-log: giving up after 1 attempts (HTTP 000)" "$rc $err"
err=$(bash -euo pipefail -c '. ./devsmith-log.sh; printf "a\nb\n" | DEVSMITH_RETRIES=0 devsmith-log info' 2>&1); rc=$?
check "under set -euo pipefail: the same answer" "1 devsmith-log: giving up after 1 attempts (HTTP 000)" "$rc $err"
err=$(env -u DEVSMITH_API_KEY bash -euo pipefail -c '. ./devsmith-log.sh; DEVSMITH_RETRIES=0 devsmith-log info one' 2>&1); rc=$?
check "under set -u without a key: an answer, not an unbound variable" "1 devsmith-log: giving up after 1 attempts (HTTP 000)" "$rc $err"

# A port that accepts and never answers: curl waits, and its command line is readable meanwhile.
exec 3< <(exec python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1], flush=True); time.sleep(30)')
listener=$!
read -r port <&3
DEVSMITH_URL="http://127.0.0.1:$port/api/logs" DEVSMITH_RETRIES=0 devsmith-log info "hung" 2>/dev/null &
job=$!
args=""
for _ in $(seq 50); do
  pid=$(pgrep -n -P "$job" curl 2>/dev/null || pgrep -n -f "127.0.0.1:$port/api/logs/batch")
  [ -n "$pid" ] && args=$(tr '\0' ' ' <"/proc/$pid/cmdline") && break
  sleep 0.1
done
check "curl runs (its command line is readable)" "yes" "$([ -n "$args" ] && echo yes)"
check "the key is not on curl's command line" "no" "$(grep -q dsk_secret <<<"$args" && echo yes || echo no)"
kill "$job" 2>/dev/null; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; kill "$listener" 2>/dev/null; wait "$job" 2>/dev/null

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# DevSmith Logs from a shell (bash + curl), for cron jobs and CI. Source it, or run it:
#   . devsmith-log.sh; devsmith-log info "backup done" ; make 2>&1 | devsmith-log warn
#   ./devsmith-log.sh error "deploy failed"
# devsmith-log LEVEL [MESSAGE...]: one entry; without MESSAGE, one per stdin line, sent
# every DEVSMITH_BATCH_SIZE (100) lines or DEVSMITH_FLUSH_INTERVAL (seconds, 5). Context: the
# JSON object in DEVSMITH_CONTEXT. Retries (DEVSMITH_RETRIES, 5) network errors, 408, 429
# and 5xx with the same batch_id, waiting Retry-After or 1, 2, 4 ... s. Exit 1 if a batch was not stored.
# Safe under set -euo pipefail.
_devsmith_str() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\t'/\\t}; s=${s//$'\r'/\\r}; s=${s//$'\n'/\\n}; printf '"%s"' "${s//[$'\001'-$'\037']/}"; }
_devsmith_entry() { printf '{"level":%s,"message":%s%s}' "$(_devsmith_str "$1")" "$(_devsmith_str "${2:-(empty message)}")" "${DEVSMITH_CONTEXT:+,\"context\":$DEVSMITH_CONTEXT}"; }
_devsmith_send() { # _devsmith_send ENTRY,ENTRY...
  local id out code wait try=0 body
  id=$(cat /proc/sys/kernel/random/uuid 2>/dev/null || uuidgen | tr 'A-Z' 'a-z')
  body="{\"service_name\":$(_devsmith_str "${DEVSMITH_SERVICE:-$(basename -- "$0" .sh)}"),\"batch_id\":\"$id\",\"logs\":[$1]}"
  while :; do
    out=$(printf '%s' "$body" | curl -sS -o /dev/null -D - -w '%{http_code}' --max-time 10 -H @<(printf 'Authorization: Bearer %s\n' "${DEVSMITH_API_KEY:-}") \
      -H 'Content-Type: application/json' --data-binary @- "${DEVSMITH_URL:-http://localhost:3000/api/logs}/batch" 2>/dev/null) || :; code=${out: -3}
    case $code in 2??) return 0 ;; 000 | 408 | 429 | 5??) ;; *) echo "devsmith-log: the platform refused the batch (HTTP $code); not retrying" >&2; return 1 ;; esac
    [ $((++try)) -gt "${DEVSMITH_RETRIES:-5}" ] && { echo "devsmith-log: giving up after $try attempts (HTTP $code)" >&2; return 1; }
    wait=$(printf '%s' "$out" | sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9][0-9]*\).*/\1/p'); sleep "${wait:-$((1 << (try - 1)))}"
  done
}
devsmith-log() {
  local level=${1:-INFO} line part="" logs="" n=0 rc=0 status; shift $(($# > 0))
  [ $# -gt 0 ] && { _devsmith_send "$(_devsmith_entry "$level" "$*")"; return; }
  while :; do
    IFS= read -r -t "${DEVSMITH_FLUSH_INTERVAL:-5}" line && status=0 || status=$? # > 128: timed out, a partial line kept
    if [ $status -gt 128 ]; then part+=$line; else line=$part$line part=""; fi
    [ $status -le 128 ] && [ $status -eq 0 -o -n "$line" ] && { logs+="${logs:+,}$(_devsmith_entry "$level" "$line")"; n=$((n + 1)); }
    if [ $n -gt 0 ] && { [ $n -ge "${DEVSMITH_BATCH_SIZE:-100}" ] || [ $status -ne 0 ]; }; then _devsmith_send "$logs" || rc=1; logs="" n=0; fi
    [ $status -ne 0 ] && [ $status -le 128 ] && return $rc
  done
}
if [ "${BASH_SOURCE[0]}" = "$0" ]; then devsmith-log "$@"; fi

#!/usr/bin/env bash
# Logs DRIVER_COUNT entries through devsmith-log, one call each, and exits 0
# once all of them were stored (1 otherwise). For integration tests
# (samples/README.md, "Drivers"):
#   DEVSMITH_URL=... DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=driver-shell \
#   DRIVER_COUNT=10 DRIVER_RUN_ID=r1 examples/driver.sh
# Entry i (0-based) has level DEBUG/INFO/WARN/ERROR (cycling), message
# "driver shell <run_id> <i>" and context {run_id, i, lang: "shell"}.
# DRIVER_STDIN=1: one devsmith-log call reading all the entries' messages
# from stdin (every entry INFO, context {run_id, lang}).
set -uo pipefail
. "$(dirname "$0")/../devsmith-log.sh"
count=${DRIVER_COUNT:-10} run_id=${DRIVER_RUN_ID:-$(date +%s%N)} interval=${DRIVER_INTERVAL:-0}
interval=${interval%s}; case $interval in *m) interval=$(awk "BEGIN{print ${interval%m}/1000}") ;; esac # 50ms -> 0.05
levels=(DEBUG INFO WARN ERROR) sent=0
if [ "${DRIVER_STDIN:-}" = 1 ]; then
  for ((i = 0; i < count; i++)); do echo "driver shell $run_id $i"; done |
    DEVSMITH_CONTEXT="{\"run_id\":\"$run_id\",\"lang\":\"shell\"}" devsmith-log INFO && sent=$count
else
  for ((i = 0; i < count; i++)); do
    DEVSMITH_CONTEXT="{\"run_id\":\"$run_id\",\"i\":$i,\"lang\":\"shell\"}" devsmith-log "${levels[i % 4]}" "driver shell $run_id $i" && sent=$((sent + 1))
    [ "$interval" != 0 ] && sleep "$interval"
  done
fi
echo "driver shell: run $run_id: logged $count, sent $sent, dropped 0"
[ "$sent" -eq "$count" ]

#!/usr/bin/env bash
# A cron job that reports to DevSmith Logs: one INFO entry when it starts,
# every line of its command's output as an entry, and one INFO or ERROR
# entry with the exit status and duration at the end.
#   DEVSMITH_API_KEY=dsk_... DEVSMITH_SERVICE=backup ./nightly-backup.sh /var/lib/app
. "$(dirname "$0")/../devsmith-log.sh"
src=${1:-.} started=$(date +%s)
devsmith-log info "backup of $src started"
tar -czf "/tmp/backup-$(date +%F).tar.gz" "$src" 2>&1 | devsmith-log warn # tar's complaints, one entry per line
status=${PIPESTATUS[0]}
export DEVSMITH_CONTEXT="{\"status\":$status,\"duration_s\":$(($(date +%s) - started))}"
if [ "$status" -eq 0 ]; then devsmith-log info "backup of $src done"; else devsmith-log error "backup of $src failed"; fi
exit "$status"

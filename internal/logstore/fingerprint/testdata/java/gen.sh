#!/bin/sh
# Regenerates the Java fixtures from App.java with a JDK (17+):
#   sh gen.sh
# shifted-*.txt come from App.java with three lines inserted at its top
# (every frame's line number moves).
set -eu
cd "$(dirname "$0")"
for run in "pay 17" "pay 8812" "paytype 17" "user 3" "caused 5" "caused 99"; do
  set -- $run
  java App.java "$1" "$2" > "$1-$2.txt"
done
tmp=$(mktemp -d)
{ printf '//\n//\n//\n'; cat App.java; } > "$tmp/App.java"
java "$tmp/App.java" pay 23 > shifted-pay-23.txt
java "$tmp/App.java" caused 23 > shifted-caused-23.txt
rm -r "$tmp"

#!/usr/bin/env bash
# Proves that no emulator outlives a test run that is killed midway.
#
#   bash test/harness/check-no-orphans.sh            # all modes: KILL TERM INT
#   bash test/harness/check-no-orphans.sh KILL       # one mode
#
# For each mode it starts `vitest run --project integration test/integration/smoke` with a unique
# ALA_TEST_RUN_ID in its environment (inherited by every process of that run: vitest, its workers,
# the guards, DynamoDB Local, moto server), waits until the emulators are up and the tests are
# running, then:
#   KILL  SIGKILL to the vitest main process only (no teardown, no exit handlers can run),
#   TERM  SIGTERM to the vitest main process only (e.g. a CI job timeout),
#   INT   SIGINT to vitest's whole process group (what Ctrl-C in a terminal does),
# and checks, by scanning /proc/*/environ for that run id, that no DynamoDB Local (ServerRunner),
# moto_server or guard process of the run remains a few seconds later. Linux only (/proc).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[ -d /proc/self ] || { echo "check-no-orphans: needs Linux /proc" >&2; exit 2; }
command -v setsid >/dev/null || { echo "check-no-orphans: needs setsid (util-linux)" >&2; exit 2; }

if [ $# -gt 0 ]; then modes=("$@"); else modes=(KILL TERM INT); fi
delay=${ALA_ORPHAN_CHECK_DELAY:-2}   # seconds between "emulators up" and the kill
settle=${ALA_ORPHAN_CHECK_SETTLE:-10} # seconds the processes get to disappear

# Prints "pid role cmdline" for every process whose environment holds ALA_TEST_RUN_ID=$1; role is
# dynamodb-local (a ServerRunner JVM), moto (moto_server), guard (guard.mjs) or other (vitest…).
# Zombies (exited, not yet reaped by their new parent) are not listed: they hold no memory or port,
# and /proc/<pid>/environ of a zombie is empty anyway.
tagged() {
  local env pid cmd role
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}
    pid=${pid%/environ}
    [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
    { tr '\0' '\n' <"$env" | grep -qxF "ALA_TEST_RUN_ID=$1"; } 2>/dev/null || continue
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || continue
    case "$cmd" in
      *guard.mjs*) role=guard ;;
      *ServerRunner*) role=dynamodb-local ;;
      *moto_server*) role=moto ;;
      *) role=other ;;
    esac
    printf '%s %s %s\n' "$pid" "$role" "$(printf '%s' "$cmd" | cut -c1-110)"
  done
}
emulators() { tagged "$1" | grep -E '^[0-9]+ (dynamodb-local|moto) ' || true; }
harness_procs() { tagged "$1" | grep -E '^[0-9]+ (dynamodb-local|moto|guard) ' || true; }
both_up() { local e; e=$(emulators "$1"); grep -q ' dynamodb-local ' <<<"$e" && grep -q ' moto ' <<<"$e"; }

status=0
for mode in "${modes[@]}"; do
  case "$mode" in KILL | TERM | INT) ;; *) echo "unknown mode $mode (KILL, TERM, INT)" >&2; exit 2 ;; esac
  id="orphan-check-${mode,,}-$$-$RANDOM"
  log=$(mktemp -t ala-orphan-check.XXXXXX)
  echo "== $mode: run $id (vitest output: $log)"
  ALA_TEST_RUN_ID=$id setsid node node_modules/vitest/vitest.mjs run --project integration test/integration/smoke \
    >"$log" 2>&1 &
  vitest=$!

  # Wait for both shared emulators (up to 60 s), then let the tests run a little.
  for _ in $(seq 1 600); do
    both_up "$id" && grep -q 'global setup' "$log" && break
    kill -0 "$vitest" 2>/dev/null || break
    sleep 0.1
  done
  if ! both_up "$id"; then
    echo "FAIL $mode: the emulators never came up"; tail -20 "$log"; status=1
    kill -KILL "$vitest" 2>/dev/null || true
    continue
  fi
  sleep "$delay"
  before=$(harness_procs "$id")
  echo "-- at the kill: $(tagged "$id" | wc -l) processes of the run, of which emulators and guards:"
  echo "$before" | sed 's/^/   /'

  case "$mode" in
    KILL) kill -KILL "$vitest" ;;
    TERM) kill -TERM "$vitest" ;;
    INT) kill -INT -- "-$vitest" ;; # vitest leads its own process group (setsid)
  esac
  killed_at=$(date +%s%N)

  left=""
  for _ in $(seq 1 $((settle * 10))); do
    left=$(harness_procs "$id")
    [ -z "$left" ] && break
    sleep 0.1
  done
  if [ -n "$left" ]; then
    echo "FAIL $mode: still running ${settle}s after the kill:"
    echo "$left" | sed 's/^/   /'
    # Clean up what this check started (these pids only).
    echo "$left" | awk '{print $1}' | xargs -r kill -KILL 2>/dev/null || true
    status=1
  else
    echo "OK   $mode: all emulators and guards gone $((($(date +%s%N) - killed_at) / 1000000)) ms after the kill"
  fi
  others=$(tagged "$id")
  if [ -n "$others" ]; then
    echo "note $mode: other processes of the run still alive (not the harness'):"
    echo "$others" | sed 's/^/   /'
  fi
  wait "$vitest" 2>/dev/null || true
  rm -f "$log"
  rm -rf "${TMPDIR:-/tmp}/ala-test-harness/$id" # logs of the killed run
done
exit $status

#!/usr/bin/env bash
# `sipcc farm` hosts a PBX and phones on loopback sockets; `sipcc dial` places a
# real click-to-dial through it (digest on INVITE, REFER routed to bob); SIGINT
# stops the farm cleanly. Usage: farm_dial_test.sh SIPCC SOURCE_DIR
set -euo pipefail
sipcc="$1"
farm_file="$2/tests/data/farm_loopback.json"
work="$(mktemp -d)"
farm_pid=""
cleanup() { [ -n "$farm_pid" ] && kill "$farm_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$sipcc" farm "$farm_file" --duration-s 30 >"$work/farm.out" 2>&1 &
farm_pid=$!
# Ready when alice's phone has registered (a real condition, polled, with a limit).
for _ in $(seq 1 100); do
  grep -q "^alice registrations_ok 1$" "$work/farm.out" && break
  kill -0 "$farm_pid" 2>/dev/null || { cat "$work/farm.out"; echo "farm exited early"; exit 1; }
  sleep 0.05
done
grep -q "^alice registrations_ok 1$" "$work/farm.out" || { cat "$work/farm.out"; echo "alice never registered"; exit 1; }

status=0
"$sipcc" dial --domain pbx.test --outbound-proxy 127.0.70.10:5060 --user c2d \
  --password c2d-secret --extension alice --bind 127.0.70.1:0 --country 43 --area 1 \
  "+43 (1) 505641" >"$work/dial.out" 2>&1 || status=$?
kill -INT "$farm_pid"
wait "$farm_pid" || { echo "farm did not stop cleanly"; cat "$work/farm.out"; exit 1; }
farm_pid=""
cat "$work/dial.out"
test "$status" -eq 0 || { echo "sipcc dial exit $status"; cat "$work/farm.out"; exit 1; }
grep -q "result: transferred" "$work/dial.out"
grep -q "^pbx calls_ok 2$" "$work/farm.out" || { cat "$work/farm.out"; exit 1; }
grep -q "^bob calls_answered 1$" "$work/farm.out"
grep -q "^farm stopped$" "$work/farm.out"
echo "ok: farm + dial"

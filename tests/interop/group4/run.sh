#!/usr/bin/env bash
# Interop group 4: SIPp as the click-to-dial controller (INVITE, ACK, REFER,
# NOTIFY x3 answered, BYE) against the simulated phones of `sipcc farm` on
# loopback sockets. SIPp's exit code says whether its scenario passed; the
# farm's counters say the phone followed the REFER and the callee answered.
# Usage: run.sh SIPCC. Exit 77 (skip) without SIPp, unless CI is set.
set -euo pipefail
sipcc="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v sipp >/dev/null; then
  echo "SKIP: sipp is not installed (scripts/dev deps installs sip-tester)"
  [ -n "${CI:-}" ] && exit 1 || exit 77
fi
work="$(mktemp -d)"
farm_pid=""
cleanup() { [ -n "$farm_pid" ] && kill "$farm_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$sipcc" farm "$here/farm.json" --duration-s 30 >"$work/farm.out" 2>&1 &
farm_pid=$!
for _ in $(seq 1 100); do  # the farm's sockets are bound before it prints this line
  grep -q "^farm running" "$work/farm.out" && break
  kill -0 "$farm_pid" 2>/dev/null || { cat "$work/farm.out"; echo "farm exited early"; exit 1; }
  sleep 0.05
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
status=0
(cd "$work" && timeout 20 sipp 127.0.71.2:5060 -sf "$here/sipp_controller.xml" -m 1 -nostdin \
  -i 127.0.71.1 -p "$(free_port)" -ci 127.0.0.1 -cp "$(free_port)" \
  -default_behaviors all,-bye -trace_err -trace_msg -message_file "$work/sipp_messages.log" \
  >"$work/sipp.out" 2>&1) || status=$?
kill -INT "$farm_pid"
wait "$farm_pid" || true
farm_pid=""
if [ "$status" -ne 0 ]; then
  echo "SIPp exit $status (its scenario failed)"; tail -40 "$work/sipp_messages.log" 2>/dev/null
  cat "$work"/*errors.log 2>/dev/null | tail -20; cat "$work/farm.out"; exit 1
fi
grep -q "^alice refers_accepted 1$" "$work/farm.out" || { cat "$work/farm.out"; exit 1; }
grep -q "^bob calls_answered 1$" "$work/farm.out" || { cat "$work/farm.out"; exit 1; }
grep -q "X-Final-Sipfrag: SIP/2.0 200 terminated" "$work/sipp_messages.log" ||
  { echo "no final 200 sipfrag seen"; exit 1; }
echo "ok: SIPp controller against sipcc farm"

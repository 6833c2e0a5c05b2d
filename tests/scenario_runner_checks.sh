#!/usr/bin/env bash
# End-to-end checks of `sipcc run` beyond pass/fail: a failing scenario is
# reported with its ladder, JUnit XML is well formed, --pcap is readable by
# tshark, and the same seed gives the same trace.
# Usage: scenario_runner_checks.sh SIPCC SOURCE_DIR CHECK
set -euo pipefail
sipcc="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

case "$3" in
  failure-is-reported)
    if "$sipcc" run "$source_dir/tests/data/scenarios/wrong_expectation.json" >"$work/out" 2>&1; then
      echo "a failing scenario exited 0"; exit 1
    fi
    grep -q "cause callee-busy; expected callee-rejected" "$work/out"
    grep -q "wrong_expectation.json:[0-9]*: ladder step 1 (alice -> sipcc NOTIFY 603) not found" "$work/out"
    grep -q -- "---REFER--->" "$work/out" || grep -q "REFER" "$work/out"
    grep -q "^0 passed, 1 failed$" "$work/out"
    ;;
  bad-file-names-line-and-field)
    if "$sipcc" run "$source_dir/tests/data/scenarios/bad_field.json" >"$work/out" 2>&1; then
      echo "a bad file exited 0"; exit 1
    fi
    grep -q 'bad_field.json:22: phones\[0\].answer: expected one of answer, busy, decline, never, reject; got "bussy"' "$work/out"
    ;;
  junit-is-valid-xml)
    "$sipcc" run "$source_dir/scenarios/caller_busy.json" \
      "$source_dir/tests/data/scenarios/wrong_expectation.json" --junit "$work/report.xml" >/dev/null || true
    python3 - "$work/report.xml" <<'PY'
import sys, xml.dom.minidom
doc = xml.dom.minidom.parse(sys.argv[1])
cases = doc.getElementsByTagName("testcase")
failures = doc.getElementsByTagName("failure")
assert len(cases) == 2, len(cases)
assert len(failures) == 1, len(failures)
assert "expected callee-rejected" in failures[0].getAttribute("message")
PY
    ;;
  pcap-opens-in-tshark)
    command -v tshark >/dev/null || { echo "tshark is not installed (scripts/dev deps installs it)"; exit 1; }
    "$sipcc" run "$source_dir/scenarios/direct_standard.json" --pcap "$work/flow.pcap" >/dev/null
    tshark -r "$work/flow.pcap" -Y sip -T fields -e sip.Method -e sip.Status-Code >"$work/sip.txt"
    test "$(wc -l <"$work/sip.txt")" -ge 20
    grep -q "^REFER" "$work/sip.txt"
    grep -q "^NOTIFY" "$work/sip.txt"
    ;;
  deterministic)
    "$sipcc" run "$source_dir/scenarios/loss_30_percent.json" --check-determinism >"$work/out"
    grep -q "^1 passed, 0 failed$" "$work/out"
    ;;
  *)
    echo "unknown check $3"; exit 2
    ;;
esac
echo "ok: $3"

#!/usr/bin/env python3
"""Interop group 1: `sipcc dial` against SIPp phones, on 127.0.0.1 with free ports.

Each SIPp case starts SIPp as the caller's phone (a UAS scenario from sipp/),
runs `sipcc dial` in direct mode against it, and checks sipcc's exit code, its
printed result line and SIPp's exit code (0 = its scenario passed). The
offline cases need no peer: configuration errors, a bad number, a phone that
never answers at the network level.

    run_interop.py --sipcc build/default/apps/sipcc            # every case
    run_interop.py --sipcc ... transferred refer_challenged    # some cases
    run_interop.py --list

Exit status: 0 all passed, 1 a case failed, 77 skipped (SIPp is not
installed; under CI=true a missing SIPp is a failure instead; offline cases
never skip). Only the standard library is used, so any python3 runs it.
"""

import argparse
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "sipp"
CONFIGS = HERE / "config"
SKIPPED = 77  # ctest SKIP_RETURN_CODE

NUMBER = "+43 1 505641"  # with country 43: sip:+431505641@pbx.test;user=phone
SIPP_LIMIT_S = 30  # a stuck SIPp is killed after this (its own -timeout does not stop it)
SIPCC_LIMIT_S = 30


@dataclasses.dataclass
class Case:
    scenario: str
    exit_code: int  # what `sipcc dial` must return
    result: str  # the end of its "result: ..." line
    transport: str = "udp"
    keys: dict = dataclasses.field(default_factory=dict)  # SIPp -key name value
    sipcc_args: list = dataclasses.field(default_factory=list)
    interrupt_after: str = ""  # send SIGINT to sipcc once a line contains this
    output_contains: list = dataclasses.field(default_factory=list)
    config_file: bool = False  # settings from config/alice_direct.json instead of flags


@dataclasses.dataclass
class OfflineCase:
    """`sipcc dial` with no peer: `{port}` in args is a port nobody listens on."""
    args: list
    exit_code: int
    output_contains: list  # in stdout or stderr


CASES = {
    "transferred": Case("phone_transfer.xml", 0, "transferred [200]",
                        keys={"final_sipfrag": "200 OK"},
                        output_contains=["ringback  [180]", "connected  [200]",
                                         "transferring  [202]", "200 OK BYE"]),
    "transferred_config_file": Case("phone_transfer.xml", 0, "transferred [200]",
                                    keys={"final_sipfrag": "200 OK"}, config_file=True),
    "transferred_tcp": Case("phone_transfer.xml", 0, "transferred [200]", transport="tcp",
                            keys={"final_sipfrag": "200 OK"}),
    "callee_busy": Case("phone_transfer.xml", 4, "disconnected (callee-busy) [486]",
                        keys={"final_sipfrag": "486 Busy Here"}),
    "caller_busy": Case("phone_busy.xml", 3, "disconnected (caller-busy) [486]"),
    "refer_rejected": Case("phone_refer_rejected.xml", 5,
                           "disconnected (refer-not-supported) [405]",
                           output_contains=["200 OK BYE"]),
    "refer_challenged": Case("phone_refer_challenge.xml", 0, "transferred [200]",
                             keys={"final_sipfrag": "200 OK"},
                             sipcc_args=["--password", "secret"],
                             output_contains=["401 Unauthori"]),
    "refer_challenged_wrong_password": Case(
        "phone_refer_challenge.xml", 5, "disconnected (refer-not-supported) [403]",
        keys={"final_sipfrag": "200 OK"}, sipcc_args=["--password", "wrong"]),
    "cancelled": Case("phone_rings_forever.xml", 9, "disconnected (cancelled-by-user) [487]",
                      interrupt_after="ringback", output_contains=["interrupted"]),
}

OFFLINE_CASES = {
    "config_unknown_key": OfflineCase(
        ["--config", str(CONFIGS / "unknown_key.json"), "4000"], 2,
        ['unknown_key.json: key "modee" is unknown']),
    "config_bad_value": OfflineCase(
        ["--config", str(CONFIGS / "bad_mode.json"), "4000"], 2,
        ['bad_mode.json: key "mode": expected "refer" or "direct", got the string "transfer"']),
    "config_not_json": OfflineCase(
        ["--config", str(CONFIGS / "not_json.json"), "4000"], 2,
        ["not_json.json: not valid JSON", "line 4"]),
    "config_flag_overrides_file": OfflineCase(
        ["--config", str(CONFIGS / "refer_mode.json"), "--mode", "direct", "4000"], 2,
        ["mode direct needs outbound_proxy"]),
    "config_bad_flag_value": OfflineCase(
        ["--domain", "pbx.test", "--user", "c2d", "--notify-wait-ms", "soon", "4000"], 2,
        ['--notify-wait-ms: expected a whole number, got the string "soon"']),
    "config_missing_domain": OfflineCase(["--user", "c2d", "4000"], 2,
                                         ["domain is required"]),
    "bad_number": OfflineCase(
        ["--domain", "pbx.test", "--user", "c2d", "--mode", "direct",
         "--outbound-proxy", "127.0.0.1:{port}", "12x4"], 2,
        ["bad number", "position 3"]),
    # Nobody answers the INVITE: Timer B (64*T1 = 1.28 s) ends it.
    "unreachable": OfflineCase(
        ["--domain", "pbx.test", "--user", "c2d", "--mode", "direct",
         "--outbound-proxy", "127.0.0.1:{port}", "--t1-ms", "20", "4000"], 7,
        ["result: disconnected (network-unreachable)", "Timer B"]),
}


def free_port():
    """A port free for UDP and TCP on 127.0.0.1 a moment ago."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def is_listening(port, transport):
    """True once something holds the port (binding it ourselves fails)."""
    kind = socket.SOCK_STREAM if transport == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def run_case(name, case, sipcc, sipp, workdir):
    """Returns a list of failures (empty: passed)."""
    sipp_port, control_port, media_port = free_port(), free_port(), free_port()
    logs = Path(workdir) / name
    logs.mkdir(parents=True, exist_ok=True)
    sipp_command = [
        sipp, "-sf", str(SCENARIOS / case.scenario),
        "-i", "127.0.0.1", "-p", str(sipp_port),
        "-t", "t1" if case.transport == "tcp" else "u1",
        "-m", "1", "-nostdin",
        "-ci", "127.0.0.1", "-cp", str(control_port),
        "-mi", "127.0.0.1", "-mp", str(media_port),
        # SIPp's own BYE for an aborted call would be built from the last NOTIFY.
        "-default_behaviors", "all,-bye",
        "-trace_msg", "-message_file", str(logs / "sipp_messages.log"),
        "-trace_err", "-error_file", str(logs / "sipp_errors.log"),
    ]
    for key, value in case.keys.items():
        sipp_command += ["-key", key, value]
    if case.config_file:
        settings = ["--config", str(CONFIGS / "alice_direct.json")]
    else:
        settings = ["--domain", "pbx.test", "--user", "c2d", "--extension", "alice",
                    "--mode", "direct", "--bind", "127.0.0.1:0",
                    "--country", "43", "--area", "1", "--notify-wait-ms", "5000"]
    sipcc_command = [
        sipcc, "dial", *settings,
        "--outbound-proxy", f"127.0.0.1:{sipp_port}", "--transport", case.transport,
        "--ladder", *case.sipcc_args, NUMBER,
    ]
    (logs / "commands.txt").write_text(
        " ".join(sipp_command) + "\n" + " ".join(repr(a) for a in sipcc_command) + "\n")

    failures = []
    with open(logs / "sipp_stdout.log", "wb") as sipp_out:
        sipp_process = subprocess.Popen(sipp_command, stdin=subprocess.DEVNULL,
                                        stdout=sipp_out, stderr=subprocess.STDOUT, cwd=logs)
        try:
            deadline = time.monotonic() + 5
            while not is_listening(sipp_port, case.transport):
                if sipp_process.poll() is not None or time.monotonic() > deadline:
                    failures.append(f"SIPp did not start listening on {sipp_port}")
                    return failures + [read_text(logs / "sipp_stdout.log")]
                time.sleep(0.02)

            sipcc_process = subprocess.Popen(sipcc_command, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True)
            output_lines = []
            started = time.monotonic()
            for line in sipcc_process.stdout:  # printed as the call progresses
                output_lines.append(line)
                if case.interrupt_after and case.interrupt_after in line:
                    sipcc_process.send_signal(signal.SIGINT)
                if time.monotonic() - started > SIPCC_LIMIT_S:
                    sipcc_process.kill()
            try:
                sipcc_code = sipcc_process.wait(timeout=SIPCC_LIMIT_S)
            except subprocess.TimeoutExpired:
                sipcc_process.kill()
                sipcc_code = sipcc_process.wait()
            output = "".join(output_lines)
            errors = sipcc_process.stderr.read()
            (logs / "sipcc_stdout.log").write_text(output)
            (logs / "sipcc_stderr.log").write_text(errors)

            try:
                sipp_code = sipp_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                failures.append("SIPp did not finish its scenario within 10 s after sipcc")
                sipp_code = None
        finally:
            if sipp_process.poll() is None:
                sipp_process.kill()
                sipp_process.wait()

    if sipcc_code != case.exit_code:
        failures.append(f"sipcc exit code {sipcc_code}, expected {case.exit_code}")
    if f"result: {case.result}\n" not in output:
        failures.append(f"sipcc did not print \"result: {case.result}\"")
    for text in case.output_contains:
        if text not in output:
            failures.append(f"sipcc output lacks \"{text}\"")
    if sipp_code is not None and sipp_code != 0:
        failures.append(f"SIPp exit code {sipp_code} (its scenario failed)")
    if failures:
        failures += [
            "--- sipcc stdout ---\n" + output,
            "--- sipcc stderr ---\n" + errors,
            "--- SIPp errors ---\n" + read_text(logs / "sipp_errors.log"),
            "--- SIPp screen ---\n" + read_text(logs / "sipp_stdout.log")[-3000:],
            f"(logs and SIPp's message trace in {logs})",
        ]
    return failures


def run_offline_case(case, sipcc):
    """Returns a list of failures (empty: passed)."""
    port = free_port()
    command = [sipcc, "dial", *(arg.replace("{port}", str(port)) for arg in case.args)]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=SIPCC_LIMIT_S)
    except subprocess.TimeoutExpired:
        return [f"sipcc did not finish within {SIPCC_LIMIT_S} s: {command}"]
    output = done.stdout + done.stderr
    failures = []
    if done.returncode != case.exit_code:
        failures.append(f"sipcc exit code {done.returncode}, expected {case.exit_code}")
    for text in case.output_contains:
        if text not in output:
            failures.append(f"sipcc output lacks \"{text}\"")
    if failures:
        failures.append("--- sipcc output ---\n" + output)
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("cases", nargs="*", help="cases to run (default: all)")
    parser.add_argument("--sipcc", default=os.environ.get("SIPCC", "build/default/apps/sipcc"))
    parser.add_argument("--sipp", default=os.environ.get("SIPP") or shutil.which("sipp"))
    parser.add_argument("--keep", metavar="DIR", help="keep logs in DIR (default: temporary)")
    parser.add_argument("--list", action="store_true", help="print the case names")
    args = parser.parse_args()

    if args.list:
        print("\n".join([*CASES, *OFFLINE_CASES]))
        return 0
    unknown = [name for name in args.cases if name not in CASES and name not in OFFLINE_CASES]
    if unknown:
        print(f"unknown case(s): {', '.join(unknown)}; --list shows them", file=sys.stderr)
        return 2
    selected = args.cases or [*CASES, *OFFLINE_CASES]
    needs_sipp = any(name in CASES for name in selected)
    if needs_sipp and (not args.sipp or not shutil.which(args.sipp)):
        message = "SIPp (sipp) is not installed: apt-get install sip-tester"
        if os.environ.get("CI") == "true":
            print(f"FAIL: {message} (required under CI=true)", file=sys.stderr)
            return 1
        print(f"SKIP: {message}")
        return SKIPPED
    if not os.access(args.sipcc, os.X_OK):
        print(f"FAIL: sipcc not found at {args.sipcc} (--sipcc PATH)", file=sys.stderr)
        return 1

    workdir = args.keep or tempfile.mkdtemp(prefix="sipcc-interop-")
    passed = failed = 0
    for name in selected:
        started = time.monotonic()
        if name in CASES:
            failures = run_case(name, CASES[name], args.sipcc, args.sipp, workdir)
        else:
            failures = run_offline_case(OFFLINE_CASES[name], args.sipcc)
        took = time.monotonic() - started
        if failures:
            failed += 1
            print(f"FAIL {name} ({took:.1f} s)")
            for failure in failures:
                print("  " + failure.replace("\n", "\n  "))
        else:
            passed += 1
            print(f"PASS {name} ({took:.1f} s)")
    print(f"{passed} passed, {failed} failed")
    if not failed and not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

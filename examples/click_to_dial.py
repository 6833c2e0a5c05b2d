#!/usr/bin/env python3
"""Click-to-dial from Python: ring your own phone, then have it call NUMBER.

Without --domain it runs against a simulated farm on loopback sockets (a PBX with
digest authentication, Alice's phone registered behind it, the callee Bob), so it
works out of the box:

    PYTHONPATH=build/default/python /usr/bin/python3 examples/click_to_dial.py "+43 1 505641"
    PYTHONPATH=build/default/python /usr/bin/python3 examples/click_to_dial.py 4000 --callee busy

With --domain it calls through a real PBX (or, with --mode direct, straight to a phone):

    PYTHONPATH=build/default/python /usr/bin/python3 examples/click_to_dial.py \\
        --domain pbx.example.com --user c2d --password secret \\
        --outbound-proxy 192.0.2.10:5060 --extension 201 --bind 192.0.2.20:0 "+43 1 505641"

Exit code 0 when the call was transferred, 1 when it failed, 2 for bad settings,
130 after Ctrl-C (the call is dropped first).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, Dict, Optional

import sipcc

# The simulated farm (docs/scenarios.md format): 127.0.63.x is used by no test.
FARM: Dict[str, Any] = {
    "name": "click_to_dial.py example farm",
    "seed": 1,
    "pbx": {
        "name": "pbx",
        "address": "127.0.63.10:5060",
        "domain": "pbx.test",
        "users": [
            {"user": "c2d", "password": "c2d-secret"},
            {"user": "alice", "password": "alice-secret"},
        ],
        "challenge_invite": True,
        "routes": [{"prefix": "", "to": "bob"}],
    },
    "controller": {
        "name": "sipcc",
        "address": "127.0.63.1:5060",
        "domain": "pbx.test",
        "user": "c2d",
        "password": "c2d-secret",
        "outbound_proxy": "pbx",
        "extension": "alice",
        "country": "43",
        "area": "1",
    },
    "phones": [
        {
            "name": "alice",
            "address": "127.0.63.2:5060",
            "user": "alice",
            "domain": "pbx.test",
            "password": "alice-secret",
            "registrar": "pbx",
            "outbound_proxy": "pbx",
            "answer_after_ms": 1000,
        },
        {
            "name": "bob",
            "address": "127.0.63.3:5060",
            "user": "bob",
            "domain": "pbx.test",
            "answer_after_ms": 2000,
        },
    ],
}


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Click-to-dial: ring your own phone, then have it call NUMBER.",
        epilog="Without --domain, a simulated PBX and phones on loopback are used.",
    )
    parser.add_argument("number", metavar="NUMBER", help="the number (or sip: URI) to call")
    real = parser.add_argument_group("a real PBX or phone")
    real.add_argument("--domain", help="SIP domain of the PBX (selects the real PBX)")
    real.add_argument("--user", help="our SIP user (From, Referred-By)")
    real.add_argument("--password", help="answered to 401/407 challenges")
    real.add_argument("--outbound-proxy", help="host[:port] of the PBX (or the phone, direct mode)")
    real.add_argument("--extension", help="the phone to ring first (default: --user's own)")
    real.add_argument("--mode", choices=["refer", "direct"], help="refer (default) or direct")
    real.add_argument("--transport", choices=["udp", "tcp"], help="udp (default) or tcp")
    real.add_argument("--bind", help="local ip[:port] (default 127.0.0.1:0)")
    real.add_argument("--country", help="our country code, e.g. 43")
    real.add_argument("--area", help="our area code, e.g. 1")
    real.add_argument("--config", help="a `sipcc dial` JSON config file (flags override it)")
    farm = parser.add_argument_group("the simulated farm")
    farm.add_argument(
        "--callee", choices=["answer", "busy"], default="answer", help="what Bob does"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait (120)")
    parser.add_argument("--ladder", action="store_true", help="print the message ladder")
    return parser.parse_args()


def print_event(event: sipcc.Event) -> None:
    line = f"{event.at_ms / 1000:8.3f} s  {event.state}"
    if event.cause:
        line += f" ({event.cause})"
    if event.sip_code:
        line += f"  [{event.sip_code}]"
    if event.detail:
        line += f"  {event.detail}"
    print(line, flush=True)


def follow(controller: sipcc.Controller, number: str, timeout: float) -> int:
    """Dial, print every state change, and return the exit code."""
    call = controller.click_to_dial(number)
    print(f"calling {number} -> {call.target_uri} from {controller.local_address}", flush=True)
    try:
        call.wait("transferred", timeout=timeout)
        print("result: transferred")
        return 0
    except sipcc.CallFailed as failed:
        print(f"result: disconnected ({failed.cause}, SIP {failed.sip_code})")
        return 1
    except sipcc.Timeout:
        print(f"no outcome after {timeout:g} s: dropping the call")
        call.drop()
        return 1
    except KeyboardInterrupt:
        print("interrupted: dropping the call", flush=True)
        call.drop()
        try:
            call.wait("disconnected", timeout=2)
        except sipcc.SipccError:
            pass
        return 130


def settings_from(arguments: argparse.Namespace) -> Dict[str, Any]:
    keys = [
        "domain", "user", "password", "outbound_proxy", "extension", "mode", "transport",
        "bind", "country", "area",
    ]
    return {key: getattr(arguments, key) for key in keys if getattr(arguments, key) is not None}


def main() -> int:
    arguments = parse_arguments()
    try:
        if arguments.domain or arguments.config:
            with sipcc.Controller(
                config=arguments.config, on_event=print_event, trace=arguments.ladder,
                **settings_from(arguments),
            ) as controller:
                code = follow(controller, arguments.number, arguments.timeout)
            if arguments.ladder:
                print(controller.ladder())
            return code
        return run_on_farm(arguments)
    except sipcc.ConfigError as error:  # NumberError too
        print(f"click_to_dial.py: {error}", file=sys.stderr)
        return 2
    except sipcc.TransportError as error:
        print(f"click_to_dial.py: {error}", file=sys.stderr)
        return 2


def run_on_farm(arguments: argparse.Namespace) -> int:
    farm_json = json.loads(json.dumps(FARM))
    farm_json["phones"][1]["answer"] = arguments.callee
    path: Optional[str] = None
    try:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as file:
            json.dump(farm_json, file)
            path = file.name
        with sipcc.Farm(path, trace=arguments.ladder) as farm:
            farm.wait_registered()
            print(f"farm: {', '.join(f'{n.name} {n.address}' for n in farm.nodes)}")
            # Our own settings (--country, --bind ...) override the farm's controller.
            with farm.controller(on_event=print_event, **settings_from(arguments)) as controller:
                code = follow(controller, arguments.number, arguments.timeout)
            if arguments.ladder:
                print(farm.ladder())
            return code
    finally:
        if path is not None:
            os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())

"""Scenarios (docs/scenarios.md): run them on virtual time, or host their farm on
real loopback sockets for a real :class:`~sipcc.Controller` to call.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Tuple, Union

from . import _sipcc
from .controller import Controller
from .exceptions import Timeout

__all__ = ["Result", "StateChange", "run_scenario", "Farm", "FarmNode", "PhoneState", "Transfer"]

PathLike = Union[str, "os.PathLike[str]"]

_log = logging.getLogger("sipcc.farm")


class StateChange(NamedTuple):
    """One state a call went through in a scenario run."""

    state: str
    cause: Optional[str]
    sip_code: Optional[int]
    at_ms: int  # virtual time


@dataclass(frozen=True)
class Result:
    """The outcome of :func:`run_scenario` (the core's ``ScenarioResult``).

    Attributes:
        name, file: the scenario's name and file.
        seed: the seed the run used.
        passed: True when every expectation held.
        failures: one readable reason per failed expectation.
        calls: call name -> the states it went through, in order.
        ladder: the message ladder between the scenario's nodes (text).
        trace_hash: FNV-1a over the trace: the same seed gives the same hash.
        virtual_ms: virtual time at the end.
        messages: datagrams in the trace.
    """

    name: str
    file: str
    seed: int
    passed: bool
    failures: Tuple[str, ...]
    calls: Dict[str, List[StateChange]]
    ladder: str
    trace_hash: int
    virtual_ms: int
    messages: int

    def __bool__(self) -> bool:
        return self.passed


def run_scenario(path: PathLike, seed: Optional[int] = None) -> Result:
    """Run a scenario file on the virtual network (like ``sipcc run FILE``).

    Args:
        path: a scenario JSON file.
        seed: replaces the scenario's own seed (same seed, same ``trace_hash``).

    Raises:
        ConfigError: the file cannot be read or is not a valid scenario; the message
            names the file, the line and the field.
    """
    raw = _sipcc.run_scenario(os.fspath(path), seed)
    calls = {
        name: [StateChange(*change) for change in changes] for name, changes in raw["calls"].items()
    }
    return Result(
        name=raw["name"],
        file=raw["file"],
        seed=raw["seed"],
        passed=raw["passed"],
        failures=tuple(raw["failures"]),
        calls=calls,
        ladder=raw["ladder"],
        trace_hash=raw["trace_hash"],
        virtual_ms=raw["virtual_ms"],
        messages=raw["messages"],
    )


class FarmNode(NamedTuple):
    """A node the farm hosts."""

    name: str
    kind: str  # "pbx" or "phone"
    address: str  # ip:port
    registers: bool  # a phone that registers with a registrar


@dataclass(frozen=True)
class Transfer:
    """A REFER a farm phone accepted, and what became of it."""

    target: str  # the Request-URI of the INVITE the phone sent
    refer_received_ms: int
    subscription: bool  # False: Refer-Sub: false was honoured
    sipfrags: Tuple[str, ...]  # the NOTIFY bodies sent, in order
    final_status_code: Optional[int]  # None while the INVITE is pending


@dataclass(frozen=True)
class PhoneState:
    """What a farm phone is doing (see docs/phone-model.md)."""

    registered: bool
    activity: str  # transferring, dialing, ringing, talking-to-callee ... idle
    active_calls: int
    transfers: Tuple[Transfer, ...] = field(default_factory=tuple)


class Farm:
    """A scenario's simulated PBX and phones, hosted on real loopback sockets.

    Each node listens on the address the scenario file gives it (UDP and TCP), all
    run by one background thread. The scenario's ``names`` are answered locally
    (e.g. ``"pbx.test": "bob"`` makes a phone's INVITE to ``...@pbx.test`` reach
    bob on port 5060); its network conditions, actions and expectations are not
    used. The ``controller`` section is not hosted: :meth:`controller` makes a real
    :class:`~sipcc.Controller` from it.

    Args:
        path: a scenario JSON file.
        trace: keep every message for :meth:`ladder`.

    Raises:
        ConfigError: the file is not a valid scenario.
        TransportError: an address cannot be bound (in use, not local).

    Use it as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: PathLike, *, trace: bool = False) -> None:
        self._path = os.fspath(path)
        self._host = _sipcc.FarmHost(self._path, trace)
        self._controllers: Dict[str, str] = {}  # address -> name, for the ladder

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self._host.name

    @property
    def path(self) -> str:
        """The scenario file."""
        return self._path

    @property
    def nodes(self) -> List[FarmNode]:
        """The hosted nodes: the PBX first, then the phones."""
        return [FarmNode(*node) for node in self._host.nodes()]

    def address(self, name: str) -> str:
        """The ``ip:port`` of a hosted node (or of the scenario's controller).

        Raises:
            KeyError: no node of that name.
        """
        address = self._host.address(name)
        if address is None:
            raise KeyError(f"the farm has no node named {name!r}")
        return address

    def counters(self, name: str) -> Dict[str, int]:
        """A node's counters, named as in a scenario's ``expect.counters``.

        Phones: invites_received, calls_answered, refers_accepted, notifies_sent,
        byes_sent ...; the PBX: calls_ok, challenges_sent, registrations_active ...;
        both: driver.messages_sent, driver.send_errors ...

        Raises:
            KeyError: no hosted node of that name.
        """
        counters = self._host.counters(name)
        if not counters:
            raise KeyError(f"the farm hosts no node named {name!r}")
        return dict(counters)

    def phone(self, name: str) -> PhoneState:
        """What a phone is doing: registration, activity, accepted REFERs.

        Raises:
            KeyError: no phone of that name.
        """
        raw = self._host.phone(name)
        if raw is None:
            raise KeyError(f"the farm has no phone named {name!r}")
        transfers = tuple(
            Transfer(
                target=t["target"],
                refer_received_ms=t["refer_received_ms"],
                subscription=t["subscription"],
                sipfrags=tuple(t["sipfrags"]),
                final_status_code=t["final_status_code"],
            )
            for t in raw["transfers"]
        )
        return PhoneState(raw["registered"], raw["activity"], raw["active_calls"], transfers)

    def wait_registered(self, timeout: float = 5.0) -> None:
        """Block until every phone with a registrar is registered.

        Raises:
            Timeout: some phone is not registered after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        waiting = [node.name for node in self.nodes if node.registers]
        while waiting:
            waiting = [name for name in waiting if not self.phone(name).registered]
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise Timeout(f"not registered after {timeout:g} s: {', '.join(waiting)}")
            time.sleep(0.01)

    def controller_settings(self) -> Dict[str, Any]:
        """The scenario's controller settings as :class:`~sipcc.Controller` keywords.

        Node names are replaced by addresses (``outbound_proxy``), and ``bind`` is the
        scenario controller's IP with port 0 (any free port).
        """
        settings = dict(self._host.controller_settings())
        address = self._host.address(self._host.controller_name) or "127.0.0.1:0"
        settings["bind"] = address.rsplit(":", 1)[0] + ":0"
        return settings

    def controller(self, **overrides: Any) -> Controller:
        """A real :class:`~sipcc.Controller` set up as the scenario's controller.

        Keywords override :meth:`controller_settings` (and take ``on_event``,
        ``trace`` ...). Its messages appear in :meth:`ladder` under the scenario's
        controller name.
        """
        settings = self.controller_settings()
        settings.update(overrides)
        controller = Controller(**settings)
        self._controllers[controller.local_address] = self._host.controller_name
        return controller

    def ladder(self, extra_hosts: Optional[Mapping[str, str]] = None) -> str:
        """A text ladder of the farm's messages (needs ``trace=True``).

        Args:
            extra_hosts: ``ip:port`` -> name for columns of hosts outside the farm;
                controllers made by :meth:`controller` are named already.
        """
        hosts = dict(self._controllers)
        hosts.update(extra_hosts or {})
        return self._host.ladder(list(hosts.items()))

    def _drain_log(self) -> None:
        for line in self._host.take_log():
            _log.warning("%s", line)

    def close(self) -> None:
        """Close every socket and stop the thread. Idempotent."""
        self._host.close()
        self._drain_log()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._host.closed

    def __enter__(self) -> "Farm":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        nodes = ", ".join(f"{node.name}={node.address}" for node in self.nodes)
        return f"<sipcc.Farm {self.name!r}: {nodes}{' (closed)' if self.closed else ''}>"

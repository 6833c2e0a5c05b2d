"""Click-to-dial on real sockets: :class:`Controller`, :class:`Call` and :class:`Event`.

A :class:`Controller` owns one UDP socket (and TCP listener) and a background
thread that runs the sans-I/O click-to-dial core with a Boost.Asio driver.
Commands (:meth:`Controller.click_to_dial`, :meth:`Call.drop`) are handed to that
thread; call events come back through a queue and are delivered to Python on the
thread that waits (:meth:`Call.wait`), iterates (:meth:`Controller.events`) or
polls (:meth:`Controller.poll`) -- never on the background thread.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Deque,
    Dict,
    FrozenSet,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
)

from . import _sipcc
from .exceptions import CallEnded, CallFailed, ClosedError, ConfigError, Timeout

__all__ = ["Controller", "Call", "Event", "STATES", "CAUSES", "FINAL_STATES"]

#: Every call state, in the order a successful call goes through them.
STATES: Tuple[str, ...] = tuple(_sipcc.STATES)
#: Every disconnect cause (``Call.cause`` is one of these, or None).
CAUSES: Tuple[str, ...] = tuple(_sipcc.CAUSES)
#: The states a call ends in.
FINAL_STATES: FrozenSet[str] = frozenset({"transferred", "disconnected"})

_log = logging.getLogger("sipcc.transport")

#: Events kept for :meth:`Controller.events` until someone takes them.
MAX_BUFFERED_EVENTS = 100_000

States = Union[str, Iterable[str]]
PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class Event:
    """One change of a call's state (the core's ``CallEvent``).

    Attributes:
        call_id: the call's id (:attr:`Call.id`).
        state: the new state, one of :data:`STATES` (``"callee-ringing"`` ...).
        cause: for ``"disconnected"``, why (one of :data:`CAUSES`); else None.
        sip_code: the SIP status behind the change (180, 486 ...), or None.
        detail: a human-readable note from the core ("REFER rejected with 405" ...).
        at_ms: when, in milliseconds since the controller started.
    """

    call_id: int
    state: str
    cause: Optional[str]
    sip_code: Optional[int]
    detail: str
    at_ms: int

    @property
    def final(self) -> bool:
        """True for the last event of a call (transferred or disconnected)."""
        return self.state in FINAL_STATES


def _state_set(states: States) -> FrozenSet[str]:
    wanted = frozenset([states] if isinstance(states, str) else states)
    unknown = sorted(wanted - set(STATES))
    if unknown or not wanted:
        raise ValueError(
            f"unknown call state(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"expected some of {', '.join(STATES)}"
        )
    return wanted


class Call:
    """One click-to-dial call, made by :meth:`Controller.click_to_dial`.

    ``state``, ``cause`` and ``sip_code`` are read live from the controller;
    ``history`` holds the events delivered to Python so far.
    """

    def __init__(self, controller: "Controller", call_id: int, number: str, target_uri: str):
        self._controller = controller
        self._id = call_id
        self._number = number
        self._target_uri = target_uri
        self._history: List[Event] = []

    @property
    def id(self) -> int:
        """The call's id, unique within its controller."""
        return self._id

    @property
    def number(self) -> str:
        """The number as it was given to click_to_dial."""
        return self._number

    @property
    def target_uri(self) -> str:
        """The URI the phone is asked to call (the REFER's Refer-To)."""
        return self._target_uri

    def _snapshot(self) -> Tuple[str, Optional[str], Optional[int]]:
        snapshot = self._controller._host.call(self._id)
        if snapshot is not None:
            return snapshot[0], snapshot[1], snapshot[2]
        # Ended long ago (the controller keeps the last 10,000 ended calls): the history.
        last = self._history[-1] if self._history else None
        return (last.state, last.cause, last.sip_code) if last else ("idle", None, None)

    @property
    def state(self) -> str:
        """The current state, one of :data:`STATES` (e.g. ``"callee-ringing"``)."""
        return self._snapshot()[0]

    @property
    def cause(self) -> Optional[str]:
        """Why the call was disconnected (``"callee-busy"`` ...), or None."""
        return self._snapshot()[1]

    @property
    def sip_code(self) -> Optional[int]:
        """The SIP status behind the last change (200, 486 ...), or None."""
        return self._snapshot()[2]

    @property
    def done(self) -> bool:
        """True once the call is transferred or disconnected."""
        return self.state in FINAL_STATES

    @property
    def history(self) -> List[Event]:
        """The call's events delivered to Python so far, oldest first."""
        return list(self._history)

    def drop(self) -> bool:
        """Hang up: CANCEL before the phone answers, BYE after.

        Returns at once (wait for ``"disconnected"`` to see the end); False when the
        call is already over.
        """
        return self._controller._host.drop(self._id)

    def _reached(self, wanted: FrozenSet[str]) -> Optional[str]:
        """The first awaited state in the history; raises if the call ended without it."""
        for event in self._history:
            if event.state in wanted:
                return event.state
        if self._history and self._history[-1].final:
            last = self._history[-1]
            error = CallFailed if last.state == "disconnected" else CallEnded
            what = f"call {self._id} to {self._number!r} ended {last.state}"
            if last.cause:
                what += f" ({last.cause}"
                what += f", SIP {last.sip_code})" if last.sip_code else ")"
            if last.detail:
                what += f": {last.detail}"
            raise error(
                f"{what}; waited for {', '.join(sorted(wanted))}",
                call_id=self._id,
                state=last.state,
                cause=last.cause,
                sip_code=last.sip_code,
                detail=last.detail,
            )
        return None

    def _timeout(self, wanted: FrozenSet[str], timeout: Optional[float]) -> Timeout:
        return Timeout(
            f"call {self._id} to {self._number!r} is still {self.state} after {timeout:g} s; "
            f"waited for {', '.join(sorted(wanted))}"
        )

    def _closed(self, wanted: FrozenSet[str]) -> ClosedError:
        return ClosedError(
            f"the controller was closed while call {self._id} was {self.state}; "
            f"waited for {', '.join(sorted(wanted))}"
        )

    def wait(self, states: States = "transferred", timeout: Optional[float] = 60.0) -> str:
        """Block until the call has reached one of ``states``; return the state reached.

        A state reached earlier counts (the call's whole history is checked). The GIL
        is released while waiting, events are delivered to ``on_event`` callbacks on
        this thread, and Ctrl-C raises KeyboardInterrupt.

        Args:
            states: a state name or several (:data:`STATES`); default ``"transferred"``.
            timeout: seconds; None waits as long as it takes.

        Raises:
            CallFailed: the call was disconnected first (``.cause``, ``.sip_code``).
            CallEnded: the call was transferred without reaching any of ``states``.
            Timeout: ``timeout`` passed first (the call goes on; drop it if needed).
            ClosedError: the controller was closed before the call ended.
            ValueError: an unknown state name.
        """
        wanted = _state_set(states)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._controller._dispatch()
            reached = self._reached(wanted)
            if reached is not None:
                return reached
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise self._timeout(wanted, timeout)
            if self._controller.closed:
                raise self._closed(wanted)
            self._controller._host.wait_events(left)

    async def wait_async(
        self,
        states: States = "transferred",
        timeout: Optional[float] = 60.0,
        poll_interval: float = 0.02,
    ) -> str:
        """The asyncio flavour of :meth:`wait`: ``await call.wait_async("transferred")``.

        Polls the controller's event queue every ``poll_interval`` seconds with
        ``asyncio.sleep`` (the event loop is never blocked, and cancelling the task
        cancels the wait); ``on_event`` callbacks run on the event loop's thread.
        Same arguments, result and exceptions as :meth:`wait`.
        """
        wanted = _state_set(states)
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            self._controller._dispatch()
            reached = self._reached(wanted)
            if reached is not None:
                return reached
            if deadline is not None and loop.time() >= deadline:
                raise self._timeout(wanted, timeout)
            if self._controller.closed:
                raise self._closed(wanted)
            await asyncio.sleep(poll_interval)

    def __repr__(self) -> str:
        return f"<sipcc.Call {self._id} {self._number!r} -> {self._target_uri} {self.state}>"


class Controller:
    """A click-to-dial controller on a real socket, run by a background thread.

    Settings are the keys of a ``sipcc dial`` configuration (docs/config.md); None
    means "not set" (the default, or what ``config`` says). The ones most needed:

    Args:
        domain: SIP domain of the PBX or provider (required).
        user: our SIP user, in From and Referred-By (required).
        password: answered to 401/407 challenges.
        outbound_proxy: ``host[:port]`` every request goes through (refer mode), or
            the phone itself (direct mode).
        extension: the phone to ring first (default: the user's own AOR).
        mode: ``"refer"`` (INVITE through the PBX, default) or ``"direct"``.
        transport: ``"udp"`` (default) or ``"tcp"``.
        bind: local ``ip[:port]`` to listen and send from (default ``127.0.0.1:0``,
            any free port); see :attr:`local_address`.
        country, area: dialing rules (``"43"``, ``"1"``) for national numbers.
        config: a ``sipcc dial`` JSON config file (path), or a dict of keys; the
            keyword arguments override it.
        on_event: called with each :class:`Event`, on the Python thread that waits,
            iterates or polls (see :meth:`poll`). Assignable later.
        trace: keep every message for :meth:`ladder`.
        **settings: any other config key (``auth_user``, ``display_name``, ``format``,
            ``international_prefix``, ``national_prefix``, ``outside_line``,
            ``national_length``, ``notify_wait_ms``, ``answer_timeout_ms``,
            ``auto_answer``, ``refer_sub_false``, ``t1_ms``, ``t2_ms``, ``t4_ms``,
            ``seed``, ``user_agent``); :func:`config_keys` lists them all.

    Raises:
        ConfigError: an unknown key or a bad value (the message names the key), a
            missing domain or user, an unreadable config file.
        TransportError: the address cannot be bound.

    Use it as a context manager: leaving the ``with`` block drops the calls still
    going, waits briefly for the CANCEL/BYE answers, stops the thread and closes
    the socket (:meth:`close`).
    """

    def __init__(
        self,
        domain: Optional[str] = None,
        user: Optional[str] = None,
        password: Optional[str] = None,
        outbound_proxy: Optional[str] = None,
        extension: Optional[str] = None,
        mode: Optional[str] = None,
        transport: Optional[str] = None,
        bind: Optional[str] = None,
        country: Optional[str] = None,
        area: Optional[str] = None,
        *,
        config: Union[PathLike, Mapping[str, Any], None] = None,
        on_event: Optional[Callable[[Event], Any]] = None,
        trace: bool = False,
        **settings: Any,
    ) -> None:
        config_path: Optional[str] = None
        merged: Dict[str, Any] = {}
        if isinstance(config, Mapping):
            merged.update(config)
        elif config is not None:
            config_path = os.fspath(config)
        named = dict(
            domain=domain,
            user=user,
            password=password,
            outbound_proxy=outbound_proxy,
            extension=extension,
            mode=mode,
            transport=transport,
            bind=bind,
            country=country,
            area=area,
        )
        merged.update({key: value for key, value in named.items() if value is not None})
        merged.update({key: value for key, value in settings.items() if value is not None})
        for key, value in merged.items():
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise ConfigError(
                    f'key "{key}": expected a string, number or boolean, '
                    f"got {type(value).__name__}"
                ) from None
        self._host = _sipcc.ControllerHost(config_path, json.dumps(merged), trace)
        self.on_event: Optional[Callable[[Event], Any]] = on_event
        self._lock = threading.RLock()
        self._calls: Dict[int, Call] = {}
        self._buffer: Deque[Event] = collections.deque(maxlen=MAX_BUFFERED_EVENTS)
        self._closed = False

    @classmethod
    def from_config(cls, path: PathLike, **overrides: Any) -> "Controller":
        """A controller from a ``sipcc dial`` JSON config file; keywords override keys."""
        return cls(config=path, **overrides)

    # --- properties ---

    @property
    def local_address(self) -> str:
        """The bound ``ip:port`` (the port picked when ``bind`` said 0)."""
        return self._host.local_address

    @property
    def settings(self) -> Dict[str, Any]:
        """The effective settings, as config keys (password included)."""
        return self._host.settings()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed or self._host.closed

    @property
    def calls(self) -> List[Call]:
        """The calls that have not ended, as far as the events delivered so far tell."""
        with self._lock:
            return list(self._calls.values())

    # --- commands ---

    def click_to_dial(self, number: str) -> Call:
        """Start a click-to-dial to ``number``; returns at once with the :class:`Call`.

        The user's phone is INVITEd; once answered it is REFERred to ``number`` (any
        form :func:`sipcc.normalize` accepts, or a sip: URI). Follow it with
        :meth:`Call.wait`, :meth:`events` or ``on_event``.

        Raises:
            NumberError: the number cannot be normalized (nothing is sent).
            ClosedError: the controller is closed.
        """
        with self._lock:
            call_id = self._host.click_to_dial(number)
            snapshot = self._host.call(call_id)
            call = Call(self, call_id, number, snapshot[4] if snapshot else "")
            self._calls[call_id] = call
        return call

    # --- events ---

    def _dispatch(self) -> int:
        """Take the queued events: record them, buffer them for events(), call on_event."""
        with self._lock:
            for line in self._host.take_log():
                _log.warning("%s", line)
            events = [Event(*raw) for raw in self._host.take_events()]
            for event in events:
                call = self._calls.get(event.call_id)
                if call is not None:
                    call._history.append(event)
                    if event.final:  # the Call object keeps its history
                        del self._calls[event.call_id]
                self._buffer.append(event)
            errors: List[BaseException] = []
            callback = self.on_event
            if callback is not None:
                for event in events:
                    try:
                        callback(event)
                    except Exception as error:  # delivered to the rest, raised after
                        errors.append(error)
            if errors:
                raise errors[0]
            return len(events)

    def poll(self, timeout: Optional[float] = 0.0) -> int:
        """Deliver queued events (to ``on_event`` and the :meth:`events` buffer).

        Waits up to ``timeout`` seconds (None: forever) for the first one; returns how
        many were delivered. Call it from a loop of your own when you use ``on_event``
        without waiting on calls.
        """
        delivered = self._dispatch()
        if delivered or self.closed:
            return delivered
        if timeout is None or timeout > 0:
            self._host.wait_events(timeout)
        return self._dispatch()

    def events(self, timeout: Optional[float] = None) -> Iterator[Event]:
        """Iterate over call events, oldest first, as they happen.

        Starts with the events not yet taken by an earlier iteration (so nothing
        between click_to_dial and the loop is lost). Ends when no event arrives for
        ``timeout`` seconds (None: never) or the controller is closed. One consumer
        at a time: two iterators share the same events. Ctrl-C raises
        KeyboardInterrupt.
        """
        while True:
            self._dispatch()
            if self._buffer:
                yield self._buffer.popleft()
                continue
            if self.closed:
                return
            if not self._host.wait_events(timeout):
                self._dispatch()
                if not self._buffer:
                    return

    async def events_async(
        self, timeout: Optional[float] = None, poll_interval: float = 0.02
    ) -> AsyncIterator[Event]:
        """The asyncio flavour of :meth:`events`: ``async for event in ctl.events_async()``.

        Polls every ``poll_interval`` seconds with ``asyncio.sleep``.
        """
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            self._dispatch()
            if self._buffer:
                idle_since = loop.time()
                yield self._buffer.popleft()
                continue
            if self.closed:
                return
            if timeout is not None and loop.time() - idle_since >= timeout:
                return
            await asyncio.sleep(poll_interval)

    # --- diagnostics ---

    def ladder(self) -> str:
        """A text ladder of every message sent and received (needs ``trace=True``)."""
        return self._host.ladder()

    @property
    def dropped_events(self) -> int:
        """Events lost because nobody took them for a long time (the queue is bounded)."""
        return self._host.dropped_events

    # --- lifetime ---

    def close(self, wind_down: float = 2.0) -> None:
        """Drop every call still going, wait up to ``wind_down`` seconds for the calls to
        end and our CANCEL/BYE to be answered, then stop the thread and close the socket.

        The last events are delivered (``on_event``, :meth:`events`). Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        self._host.close(wind_down)
        self._dispatch()

    def __enter__(self) -> "Controller":
        return self

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except Exception:  # keep the exception that left the with block
            logging.getLogger("sipcc").exception("while closing the controller")

    def __repr__(self) -> str:
        settings = self.settings
        state = "closed" if self.closed else f"on {self.local_address}"
        return (
            f"<sipcc.Controller {settings.get('user')}@{settings.get('domain')} "
            f"{settings.get('mode')} {state}>"
        )


def config_keys() -> List[Tuple[str, str, str]]:
    """Every controller setting: ``(name, kind, help)`` with kind text, number or boolean."""
    return list(_sipcc.dial_config_keys())

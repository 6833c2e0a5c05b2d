"""sipcc: SIP click-to-dial from Python.

Thin bindings over the sipcc core (a C++20 sans-I/O SIP engine):

- :class:`Controller` -- click-to-dial on real sockets (a background thread runs the
  core); :meth:`Controller.click_to_dial` returns a :class:`Call` to ``wait`` on
  (or ``await call.wait_async(...)``), drop, or follow with :meth:`Controller.events`.
- :func:`normalize`, :func:`dial_uri` -- number normalization and dial-target URIs.
- :func:`run_scenario` -- a conformance scenario on virtual time; :class:`Farm` -- a
  scenario's simulated PBX and phones on loopback sockets, for tests.
- Exceptions: :class:`ConfigError`, :class:`NumberError`, :class:`CallFailed`,
  :class:`CallEnded`, :class:`Timeout`, :class:`TransportError`, :class:`ClosedError`.

See docs/python.md.
"""

from __future__ import annotations

try:
    from . import _sipcc  # noqa: F401  (the compiled half)
except ImportError as error:  # pragma: no cover - a set-up problem, explained
    raise ImportError(
        f"sipcc: the compiled module sipcc._sipcc cannot be loaded from {__path__[0]} "
        f"({error}). Build it (cmake --build --preset default) and put build/default/python "
        "first on PYTHONPATH (not frontends/python), or pip install ./frontends/python."
    ) from error

from .exceptions import (
    CallEnded,
    CallFailed,
    ClosedError,
    ConfigError,
    NumberError,
    SipccError,
    Timeout,
    TransportError,
)
from .controller import CAUSES, FINAL_STATES, STATES, Call, Controller, Event, config_keys
from .numbers import NUMBER_KINDS, URI_FORMATS, Number, dial_uri, normalize
from .scenarios import Farm, FarmNode, PhoneState, Result, StateChange, Transfer, run_scenario

__version__ = "0.1.0"

__all__ = [
    "CAUSES",
    "FINAL_STATES",
    "NUMBER_KINDS",
    "STATES",
    "URI_FORMATS",
    "Call",
    "CallEnded",
    "CallFailed",
    "ClosedError",
    "ConfigError",
    "Controller",
    "Event",
    "Farm",
    "FarmNode",
    "Number",
    "NumberError",
    "PhoneState",
    "Result",
    "SipccError",
    "StateChange",
    "Timeout",
    "Transfer",
    "TransportError",
    "config_keys",
    "dial_uri",
    "normalize",
    "run_scenario",
]

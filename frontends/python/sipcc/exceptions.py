"""Exceptions raised by sipcc.

Every message is the core's own: a bad setting names its key
(``key "mode": expected "refer" or "direct", got the string "bogus"``), a bad
number names the character and its position, a bad scenario file names the file,
the line and the field.

Hierarchy::

    SipccError
    ├── ConfigError (also ValueError)    bad setting, scenario file or dialing rules
    │   └── NumberError                  a number the core cannot normalize or render
    ├── TransportError (also OSError)    a socket could not be bound
    ├── ClosedError (also RuntimeError)  the controller or farm is closed
    ├── Timeout (also TimeoutError)      a wait ran out of time
    └── CallEnded                        the call ended without reaching the state waited for
        └── CallFailed                   ... because it was disconnected (cause, sip_code)
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "SipccError",
    "ConfigError",
    "NumberError",
    "TransportError",
    "ClosedError",
    "Timeout",
    "CallEnded",
    "CallFailed",
]


class SipccError(Exception):
    """Base class of every exception sipcc raises on purpose."""


class ConfigError(SipccError, ValueError):
    """A setting, a scenario file or dialing rules the core refused.

    Raised by :class:`sipcc.Controller` (unknown key, bad value, missing domain or
    user, unreadable config file), :func:`sipcc.run_scenario` and :class:`sipcc.Farm`
    (bad scenario file), and :func:`sipcc.normalize` / :func:`sipcc.dial_uri`
    (invalid dialing rules, unknown URI format, no domain for a sip: URI).
    """


class NumberError(ConfigError):
    """A number the core could not normalize (``unexpected character 'x' at position 3``).

    Raised by :func:`sipcc.normalize`, :func:`sipcc.dial_uri` and
    :meth:`sipcc.Controller.click_to_dial`; a :class:`ConfigError`, so
    ``except sipcc.ConfigError`` catches it too.
    """


class TransportError(SipccError, OSError):
    """A socket could not be bound (address in use, not a local address ...)."""


class ClosedError(SipccError, RuntimeError):
    """The controller or farm was closed; it accepts no more commands."""


class Timeout(SipccError, TimeoutError):
    """A wait ran out of time before the call reached the state waited for."""


class CallEnded(SipccError):
    """The call ended without ever reaching the state(s) waited for.

    Raised as such when the call was transferred but the awaited state never
    happened (e.g. waiting for ``"callee-ringing"`` when the phone reports only the
    final NOTIFY); its subclass :class:`CallFailed` when the call was disconnected.

    Attributes:
        call_id: the call's id.
        state: the final state (``"transferred"`` or ``"disconnected"``).
        cause: the disconnect cause (``"callee-busy"`` ...), or None.
        sip_code: the SIP status behind the end (486 ...), or None.
        detail: the core's note about the end ("REFER rejected with 405" ...).
    """

    def __init__(
        self,
        message: str,
        *,
        call_id: int,
        state: str,
        cause: Optional[str] = None,
        sip_code: Optional[int] = None,
        detail: str = "",
    ) -> None:
        super().__init__(message)
        self.call_id = call_id
        self.state = state
        self.cause = cause
        self.sip_code = sip_code
        self.detail = detail


class CallFailed(CallEnded):
    """The call was disconnected while a success state was waited for.

    ``cause`` names why (``"caller-busy"``, ``"callee-busy"``,
    ``"refer-not-supported"``, ``"network-unreachable"`` ... see
    :data:`sipcc.CAUSES`) and ``sip_code`` the SIP status behind it (486, 405 ...).
    """

"""Phone-number normalization and dial-target URIs (docs/numbers.md).

Thin wrappers over the core's ``normalize_number`` and ``render_dial_target``:
the same rules ``sipcc number`` and the controller use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from . import _sipcc

__all__ = ["Number", "normalize", "dial_uri", "URI_FORMATS", "NUMBER_KINDS"]

#: The ways a PSTN number can be written as a URI (``format=`` of :func:`dial_uri`).
URI_FORMATS = ("sip", "international", "national", "tel")

#: The kinds :attr:`Number.kind` can take.
NUMBER_KINDS = ("global", "extension", "local", "dialstring", "uri")


@dataclass(frozen=True)
class Number:
    """A normalized number.

    Attributes:
        kind: ``"global"`` (has an E.164 form), ``"extension"`` (a short PBX number),
            ``"local"`` (national or subscriber number with no country configured),
            ``"dialstring"`` (has ``*`` or ``#``) or ``"uri"`` (a sip:/sips: URI).
        e164: ``"+431505641"`` for kind global, else None.
        digits: country code and number for global ("431505641"); the digits for
            extension and local; digits, ``*`` and ``#`` for dialstring; "" for uri.
        canonical: the one-line form: e164, the URI, or the digits.
        original: the input exactly as given.
    """

    kind: str
    e164: Optional[str]
    digits: str
    canonical: str
    original: str

    def __str__(self) -> str:
        return self.canonical


def normalize(
    number: str,
    country: Optional[str] = None,
    area: Optional[str] = None,
    international_prefix: str = "00",
    national_prefix: str = "0",
    outside_line: Optional[str] = None,
    letters: bool = False,
    *,
    national_length: int = 0,
    min_extension_digits: int = 2,
    max_extension_digits: int = 5,
) -> Number:
    """Normalize what a user typed or pasted into one canonical number.

    ``"+43 (1) 505641"``, ``"01 505641"`` (with ``country="43"``), ``"tel:+43-1-505641"``
    and ``"0043 1 505641"`` all become ``+431505641``; ``"4000"`` is an extension,
    ``"*8101"`` a dial string, ``"sip:bob@example.com"`` a URI kept as given.

    Args:
        number: the input (at most 256 bytes).
        country: our country code, e.g. ``"43"``; None: national numbers stay local.
        area: our area code, e.g. ``"1"`` (needs ``country``).
        international_prefix: what we dial to call abroad (``"011"`` in North America).
        national_prefix: the trunk prefix (``"1"`` in North America, ``""`` in Spain).
        outside_line: digits the PBX needs for an outside line, e.g. ``"0"`` or ``"9"``.
        letters: accept vanity numbers (``1-800-FLOWERS``) by the E.161 keypad.
        national_length: digits of a national number without trunk prefix (10 in
            North America); 0: not used.
        min_extension_digits: all-digit inputs this long ...
        max_extension_digits: ... up to this long are extensions; 0 turns them off.

    Raises:
        NumberError: the number cannot be normalized; the message names the
            offending character and its position.
        ConfigError: the dialing rules are invalid.
    """
    kind, e164, digits, canonical, original = _sipcc.normalize(
        number,
        country,
        area,
        international_prefix,
        national_prefix,
        outside_line,
        letters,
        national_length,
        min_extension_digits,
        max_extension_digits,
    )
    return Number(kind, e164, digits, canonical, original)


def dial_uri(
    number: str,
    domain: Optional[str] = None,
    format: str = "sip",
    country: Optional[str] = None,
    area: Optional[str] = None,
    international_prefix: str = "00",
    national_prefix: str = "0",
    outside_line: Optional[str] = None,
    letters: bool = False,
    *,
    national_length: int = 0,
    min_extension_digits: int = 2,
    max_extension_digits: int = 5,
) -> str:
    """The URI a phone is asked to call for ``number``: the Refer-To of a click-to-dial.

    Formats for PSTN numbers (kind global): ``"sip"`` → ``sip:+431505641@domain;user=phone``,
    ``"international"`` → ``sip:00431505641@domain``, ``"national"`` →
    ``sip:01505641@domain`` within our country, ``"tel"`` → ``tel:+431505641``.
    Extensions, dial strings and local numbers always become ``sip:DIGITS@domain``;
    URIs are kept. The other arguments are those of :func:`normalize`.

    Raises:
        NumberError: the number cannot be normalized.
        ConfigError: invalid dialing rules, unknown format, or no domain for a sip: URI.
    """
    return _sipcc.dial_uri(
        number,
        domain,
        format,
        country,
        area,
        international_prefix,
        national_prefix,
        outside_line,
        letters,
        national_length,
        min_extension_digits,
        max_extension_digits,
    )

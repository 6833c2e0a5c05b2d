"""sipcc.normalize and sipcc.dial_uri: the core's rules (docs/numbers.md) from Python."""

from __future__ import annotations

from typing import Any, Dict, Optional

import pytest

import sipcc

AT = dict(country="43", area="1")
NANP = dict(country="1", area="212", international_prefix="011", national_prefix="1")

# input, dialing rules, kind, e164, canonical
NORMALIZATION_TABLE = [
    ("+43 (1) 505641", {}, "global", "+431505641", "+431505641"),
    ("0043 1 505641", {}, "global", "+431505641", "+431505641"),
    ("01 505641", AT, "global", "+431505641", "+431505641"),
    ("505641", AT, "global", "+431505641", "+431505641"),
    ("01 505641", {}, "local", None, "01505641"),
    ("tel:+43-1-505641", {}, "global", "+431505641", "+431505641"),
    ("  +43\u00a01\u2013505641 ", {}, "global", "+431505641", "+431505641"),
    ("+49 (0)30 1234", {}, "global", "+49301234", "+49301234"),
    ("(212) 555-1234", dict(NANP, national_length=10), "global", "+12125551234", "+12125551234"),
    ("1-800-FLOWERS", dict(NANP, letters=True), "global", "+18003569377", "+18003569377"),
    ("4000", AT, "extension", None, "4000"),
    ("*8101", {}, "dialstring", None, "*8101"),
    ("#31#", {}, "dialstring", None, "#31#"),
    ("sip:bob@example.com", {}, "uri", None, "sip:bob@example.com"),
]


@pytest.mark.parametrize("text, rules, kind, e164, canonical", NORMALIZATION_TABLE)
def test_normalization_table(
    text: str, rules: Dict[str, Any], kind: str, e164: Optional[str], canonical: str
) -> None:
    number = sipcc.normalize(text, **rules)
    assert isinstance(number, sipcc.Number)
    assert (number.kind, number.e164, number.canonical) == (kind, e164, canonical)
    assert number.original == text
    assert str(number) == canonical
    assert number.kind in sipcc.NUMBER_KINDS


def test_digits_of_a_global_number_are_country_code_and_number() -> None:
    assert sipcc.normalize("+43 1 505641").digits == "431505641"


@pytest.mark.parametrize(
    "text, message",
    [
        ("12x4", "unexpected character 'x' at position 3"),
        ("+", "no digits after '+'"),
        ("(01 505641", "unclosed '(' at position 1"),
        ("+4312345678901234567", "too many digits for E.164"),
    ],
)
def test_bad_numbers_raise_number_error_with_the_core_message(text: str, message: str) -> None:
    with pytest.raises(sipcc.NumberError, match=message.replace("(", r"\(").replace("+", r"\+")):
        sipcc.normalize(text)


def test_number_error_is_a_config_error_and_a_value_error() -> None:
    with pytest.raises(sipcc.ConfigError):
        sipcc.normalize("12x4")
    with pytest.raises(ValueError):
        sipcc.normalize("12x4")


def test_invalid_dialing_rules_are_a_config_error() -> None:
    with pytest.raises(sipcc.ConfigError, match='country code "abc" must be digits') as error:
        sipcc.normalize("505641", country="abc")
    assert not isinstance(error.value, sipcc.NumberError)


@pytest.mark.parametrize(
    "format, uri",
    [
        ("sip", "sip:+431505641@pbx.test;user=phone"),
        ("international", "sip:00431505641@pbx.test"),
        ("national", "sip:01505641@pbx.test"),
        ("tel", "tel:+431505641"),
    ],
)
def test_dial_uri_formats(format: str, uri: str) -> None:
    assert sipcc.dial_uri("+43 1 505641", "pbx.test", format=format, country="43") == uri


def test_dial_uri_extensions_uris_and_outside_line() -> None:
    assert sipcc.dial_uri("4000", "pbx.test", format="tel") == "sip:4000@pbx.test"
    assert sipcc.dial_uri("sip:bob@example.com", "pbx.test") == "sip:bob@example.com"
    assert (
        sipcc.dial_uri("01 505641", "pbx.test", format="national", country="43", outside_line="0")
        == "sip:001505641@pbx.test"
    )


def test_dial_uri_errors() -> None:
    with pytest.raises(sipcc.ConfigError, match="a domain is needed"):
        sipcc.dial_uri("+431505641")
    with pytest.raises(sipcc.ConfigError, match='unknown URI format "bogus"'):
        sipcc.dial_uri("+431505641", "pbx.test", format="bogus")
    with pytest.raises(sipcc.NumberError):
        sipcc.dial_uri("12x4", "pbx.test")

"""sipcc.Controller on loopback sockets against a sipcc.Farm of simulated phones."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import List

import pytest

import sipcc
from conftest import DATA, caller

SUCCESS = [
    "dialing",
    "proceeding",
    "ringback",
    "connected",
    "transferring",
    "callee-ringing",
    "transferred",
]


def test_click_to_dial_transfers_with_events_in_order(direct_farm: sipcc.Farm) -> None:
    seen: List[sipcc.Event] = []
    threads = set()

    def on_event(event: sipcc.Event) -> None:
        seen.append(event)
        threads.add(threading.get_ident())

    answered_before = direct_farm.counters("bob")["calls_answered"]
    with caller(direct_farm, "alice", on_event=on_event) as ctl:
        call = ctl.click_to_dial("+43 (1) 505641")
        assert call.target_uri == "sip:+431505641@pbx.test;user=phone"
        assert call.number == "+43 (1) 505641"
        assert call.wait("transferred", timeout=10) == "transferred"
        assert call.state == "transferred"
        assert call.cause is None
        assert call.sip_code == 200
        assert call.done
        iterated = [event.state for event in ctl.events(timeout=0)]

    assert [event.state for event in seen] == SUCCESS
    assert [event.state for event in call.history] == SUCCESS
    assert iterated == SUCCESS
    assert threads == {threading.get_ident()}, "callbacks run on the waiting thread"
    assert all(event.call_id == call.id for event in seen)
    assert [event.sip_code for event in seen][1:] == [100, 180, 200, 202, 180, 200]
    assert seen[-1].final and not seen[0].final
    assert [event.at_ms for event in seen] == sorted(event.at_ms for event in seen)
    assert direct_farm.counters("bob")["calls_answered"] == answered_before + 1
    transfer = direct_farm.phone("alice").transfers[-1]
    assert transfer.target == "sip:+431505641@pbx.test;user=phone"
    assert transfer.final_status_code == 200


def test_events_iterator_follows_a_call_as_it_happens(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "alice") as ctl:
        call = ctl.click_to_dial("4000")
        states = []
        for event in ctl.events(timeout=10):
            assert event.call_id == call.id
            states.append(event.state)
            if event.final:
                break
    assert states == SUCCESS
    assert call.target_uri == "sip:4000@pbx.test"


@pytest.mark.parametrize(
    "phone, domain, cause, sip_code",
    [
        ("carol", "pbx.test", "caller-busy", 486),
        ("alice", "busy.test", "callee-busy", 486),
        ("dave", "pbx.test", "refer-not-supported", 405),
    ],
)
def test_failure_causes_surface_as_call_failed(
    direct_farm: sipcc.Farm, phone: str, domain: str, cause: str, sip_code: int
) -> None:
    with caller(direct_farm, phone, domain=domain) as ctl:
        call = ctl.click_to_dial("+43 1 505641")
        with pytest.raises(sipcc.CallFailed) as failed:
            call.wait("transferred", timeout=10)
    error = failed.value
    assert (error.cause, error.sip_code, error.state) == (cause, sip_code, "disconnected")
    assert error.call_id == call.id
    assert cause in str(error) and str(sip_code) in str(error)
    assert isinstance(error, sipcc.CallEnded)
    assert (call.state, call.cause, call.sip_code) == ("disconnected", cause, sip_code)
    # Waiting for the failure itself is not an error.
    assert call.wait("disconnected", timeout=0) == "disconnected"


def test_drop_cancels_a_ringing_phone(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "erin") as ctl:
        call = ctl.click_to_dial("+43 1 505641")
        assert call.wait("ringback", timeout=10) == "ringback"
        assert call.drop() is True
        assert call.wait(["disconnected", "transferred"], timeout=10) == "disconnected"
        assert call.cause == "cancelled-by-user"
        assert call.drop() is False, "already over"
        assert ctl.calls == []
    assert [event.state for event in call.history][-1] == "disconnected"


def test_wait_times_out_and_the_call_goes_on(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "erin") as ctl:
        call = ctl.click_to_dial("+43 1 505641")
        started = time.monotonic()
        with pytest.raises(sipcc.Timeout, match="still ringback"):
            call.wait("connected", timeout=0.3)
        assert 0.25 < time.monotonic() - started < 2.0
        assert call.state == "ringback"
        assert ctl.calls == [call]


def test_context_manager_drops_calls_and_closes_the_socket(direct_farm: sipcc.Farm) -> None:
    seen: List[str] = []
    with caller(direct_farm, "erin", on_event=lambda event: seen.append(event.state)) as ctl:
        call = ctl.click_to_dial("+43 1 505641")
        call.wait("ringback", timeout=10)
        address = ctl.local_address
    assert ctl.closed
    assert (call.state, call.cause) == ("disconnected", "cancelled-by-user")
    assert seen[-1] == "disconnected", "the last events are delivered on close"
    with pytest.raises(sipcc.ClosedError):
        ctl.click_to_dial("4000")
    with pytest.raises(sipcc.CallFailed):
        call.wait("transferred", timeout=1)
    # The port is free again.
    with sipcc.Controller(domain="pbx.test", user="c2d", bind=address) as again:
        assert again.local_address == address
    ctl.close()  # idempotent


def test_ctrl_c_interrupts_a_wait(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "erin") as ctl:
        call = ctl.click_to_dial("+43 1 505641")
        timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
        started = time.monotonic()
        timer.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                call.wait("transferred", timeout=30)
        finally:
            timer.cancel()
        assert time.monotonic() - started < 2.0


def test_the_gil_is_released_while_waiting(direct_farm: sipcc.Farm) -> None:
    ticks = 0
    stop = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        with caller(direct_farm, "erin") as ctl:
            call = ctl.click_to_dial("+43 1 505641")
            with pytest.raises(sipcc.Timeout):
                call.wait("connected", timeout=0.3)
    finally:
        stop.set()
        counter.join()
    assert ticks > 50


def test_a_callback_error_reaches_the_waiter_after_every_event_is_delivered(
    direct_farm: sipcc.Farm,
) -> None:
    seen: List[str] = []

    def on_event(event: sipcc.Event) -> None:
        seen.append(event.state)
        if event.state == "ringback":
            raise RuntimeError("from the callback")

    with caller(direct_farm, "alice", on_event=on_event) as ctl:
        call = ctl.click_to_dial("4000")
        with pytest.raises(RuntimeError, match="from the callback"):
            call.wait("transferred", timeout=10)
        ctl.on_event = None
        call.wait("transferred", timeout=10)
    assert "ringback" in seen


def test_two_calls_at_once(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "alice") as ctl:
        first = ctl.click_to_dial("4000")
        second = ctl.click_to_dial("4001")
        assert first.id != second.id
        assert first.wait(timeout=10) == second.wait(timeout=10) == "transferred"


def test_click_to_dial_over_tcp(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "alice", transport="tcp") as ctl:
        assert ctl.settings["transport"] == "tcp"
        call = ctl.click_to_dial("4000")
        assert call.wait(timeout=10) == "transferred"
        assert [event.state for event in call.history] == SUCCESS


def test_through_a_registrar_and_proxy_with_digest(pbx_farm: sipcc.Farm) -> None:
    assert pbx_farm.phone("alice").registered
    with pbx_farm.controller(trace=True) as ctl:
        assert ctl.settings["mode"] == "refer"
        call = ctl.click_to_dial("01 505641")
        assert call.wait(timeout=10) == "transferred"
        ladder = ctl.ladder()
    assert "407" in ladder and "REFER" in ladder and "BYE" in ladder
    assert pbx_farm.counters("pbx")["calls_ok"] >= 2


def test_farm_ladder_names_the_controller(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "alice") as ctl:
        ctl.click_to_dial("4000").wait(timeout=10)
        port = ctl.local_address
    ladder = direct_farm.ladder()
    assert port in ladder and "sipcc" in ladder and "REFER" in ladder


def test_bad_number_is_refused_before_anything_is_sent(direct_farm: sipcc.Farm) -> None:
    with caller(direct_farm, "alice") as ctl:
        with pytest.raises(sipcc.NumberError, match="unexpected character 'x' at position 3"):
            ctl.click_to_dial("12x4")
        assert ctl.calls == []


# --- configuration ---


def test_config_error_names_the_key() -> None:
    with pytest.raises(sipcc.ConfigError, match='key "mode": expected "refer" or "direct"'):
        sipcc.Controller(domain="pbx.test", user="c2d", mode="bogus")
    with pytest.raises(sipcc.ConfigError, match='key "modee" is unknown'):
        sipcc.Controller(domain="pbx.test", user="c2d", modee="refer")
    with pytest.raises(sipcc.ConfigError, match='key "notify_wait_ms": expected a whole number'):
        sipcc.Controller(domain="pbx.test", user="c2d", notify_wait_ms="soon")
    with pytest.raises(sipcc.ConfigError, match='key "bind": expected a string'):
        sipcc.Controller(domain="pbx.test", user="c2d", bind=Path("/"))  # type: ignore[arg-type]
    with pytest.raises(sipcc.ConfigError, match="domain is required"):
        sipcc.Controller(user="c2d")
    with pytest.raises(sipcc.ConfigError, match="direct needs outbound_proxy"):
        sipcc.Controller(domain="pbx.test", user="c2d", mode="direct")


def test_from_config_file_with_overrides() -> None:
    with sipcc.Controller.from_config(DATA / "dial_config.json", area="2", seed=9) as ctl:
        settings = ctl.settings
        assert ctl.local_address.startswith("127.0.0.1:")
    expected = json.loads((DATA / "dial_config.json").read_text())
    expected["area"] = "2"
    for key, value in expected.items():
        assert settings[key] == value, key


def test_config_dict_and_bad_config_file() -> None:
    with sipcc.Controller(config={"domain": "pbx.test", "user": "c2d"}, mode="refer") as ctl:
        assert (ctl.settings["domain"], ctl.settings["mode"]) == ("pbx.test", "refer")
    path = str(DATA / "bad_dial_config.json")
    with pytest.raises(sipcc.ConfigError, match=f'^{path}: key "modee" is unknown'):
        sipcc.Controller.from_config(path)


def test_an_address_in_use_is_a_transport_error(direct_farm: sipcc.Farm) -> None:
    with pytest.raises(sipcc.TransportError, match="cannot bind 127.0.61.2:5060") as error:
        sipcc.Controller(domain="pbx.test", user="c2d", bind=direct_farm.address("alice"))
    assert isinstance(error.value, OSError)


def test_farm_errors(direct_farm: sipcc.Farm) -> None:
    with pytest.raises(sipcc.ConfigError, match=r"phones\[0\]\.answer"):
        sipcc.Farm(DATA / "bad_field.json")
    with pytest.raises(KeyError):
        direct_farm.address("nobody")
    with pytest.raises(KeyError):
        direct_farm.phone("nobody")
    assert [node.name for node in direct_farm.nodes][:2] == ["alice", "carol"]
    assert direct_farm.address("sipcc") == "127.0.61.1:5060"

"""sipcc.run_scenario: the scenario runner on virtual time, from Python."""

from __future__ import annotations

import pytest

import sipcc
from conftest import DATA, SCENARIOS

SUCCESS = ["dialing", "proceeding", "ringback", "connected", "transferring", "callee-ringing",
           "transferred"]


def test_library_scenario_passes_with_ladder_and_calls() -> None:
    result = sipcc.run_scenario(SCENARIOS / "direct_standard.json")
    assert result.passed, result.failures
    assert result
    assert result.failures == ()
    assert "REFER" in result.ladder and "NOTIFY" in result.ladder
    assert result.messages > 10
    changes = result.calls["c1"]
    assert [change.state for change in changes] == SUCCESS
    final = changes[-1]
    assert final == ("transferred", None, 200, final.at_ms)
    assert final.at_ms == result.calls["c1"][-1][3] > 0
    assert result.seed == 1


def test_same_seed_same_trace_hash() -> None:
    path = SCENARIOS / "loss_20_percent.json"
    first = sipcc.run_scenario(path, seed=42)
    second = sipcc.run_scenario(str(path), seed=42)
    other = sipcc.run_scenario(path, seed=43)
    assert first.seed == 42
    assert first.trace_hash == second.trace_hash
    assert first.ladder == second.ladder
    assert other.trace_hash != first.trace_hash


def test_failure_cause_in_a_scenario() -> None:
    result = sipcc.run_scenario(SCENARIOS / "callee_busy.json")
    assert result.passed, result.failures
    assert result.calls["c1"][-1][:3] == ("disconnected", "callee-busy", 486)


def test_failed_expectation_is_reported_not_raised() -> None:
    result = sipcc.run_scenario(DATA / "wrong_expectation.json")
    assert not result.passed
    assert any("ended disconnected; expected transferred" in f for f in result.failures)


def test_bad_scenario_file_is_a_config_error_naming_line_and_field() -> None:
    with pytest.raises(sipcc.ConfigError, match=r"bad_field\.json:6: phones\[0\]\.answer"):
        sipcc.run_scenario(DATA / "bad_field.json")
    with pytest.raises(sipcc.ConfigError, match="cannot open"):
        sipcc.run_scenario(DATA / "no_such_file.json")

"""Shared fixtures: the farms the controller tests dial into, on loopback only.

Run with Debian's interpreter and the built package on the path:
    PYTHONPATH=build/default/python /usr/bin/python3 -m pytest frontends/python/tests -q
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

import sipcc

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
FARMS = HERE / "farms"
DATA = HERE / "data"
SCENARIOS = REPO / "scenarios"


@pytest.fixture(scope="session")
def direct_farm() -> Iterator[sipcc.Farm]:
    """Phones reached directly (127.0.61.x): alice answers and follows REFER, carol is
    busy, dave rejects REFER with 405, erin never answers; the callee is bob
    (domain pbx.test) or busybob (domain busy.test, busy)."""
    with sipcc.Farm(FARMS / "direct.json", trace=True) as farm:
        yield farm


@pytest.fixture(scope="session")
def pbx_farm() -> Iterator[sipcc.Farm]:
    """A registrar + proxy (127.0.62.x) with alice registered behind it, bob routed."""
    with sipcc.Farm(FARMS / "pbx.json") as farm:
        farm.wait_registered(timeout=5.0)
        yield farm


def caller(farm: sipcc.Farm, phone: str, **settings: object) -> sipcc.Controller:
    """A controller that rings `phone` of the direct farm first."""
    return farm.controller(outbound_proxy=farm.address(phone), **settings)

"""The asyncio flavour: Call.wait_async and Controller.events_async."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

import sipcc
from conftest import caller


def test_wait_async_transfers_without_blocking_the_loop(direct_farm: sipcc.Farm) -> None:
    async def main() -> List[str]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.005)

        ticker = asyncio.create_task(tick())
        with caller(direct_farm, "alice") as ctl:
            call = ctl.click_to_dial("+43 1 505641")
            assert await call.wait_async("callee-ringing", timeout=10) == "callee-ringing"
            assert await call.wait_async("transferred", timeout=10) == "transferred"
        ticker.cancel()
        assert ticks > 5, "the event loop kept running"
        return [event.state for event in call.history]

    assert asyncio.run(main())[-1] == "transferred"


def test_wait_async_raises_call_failed_and_timeout(direct_farm: sipcc.Farm) -> None:
    async def main() -> None:
        with caller(direct_farm, "carol") as ctl:
            call = ctl.click_to_dial("4000")
            with pytest.raises(sipcc.CallFailed) as failed:
                await call.wait_async(timeout=10)
            assert (failed.value.cause, failed.value.sip_code) == ("caller-busy", 486)
        with caller(direct_farm, "erin") as ctl:
            call = ctl.click_to_dial("4000")
            with pytest.raises(sipcc.Timeout):
                await call.wait_async("connected", timeout=0.2)

    asyncio.run(main())


def test_wait_async_can_be_cancelled_and_gathered(direct_farm: sipcc.Farm) -> None:
    async def main() -> None:
        with caller(direct_farm, "erin") as ctl:
            call = ctl.click_to_dial("4000")
            waiter = asyncio.create_task(call.wait_async("connected", timeout=None))
            await asyncio.sleep(0.1)
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
        with caller(direct_farm, "alice") as ctl:
            calls = [ctl.click_to_dial(number) for number in ("4000", "4001", "4002")]
            results = await asyncio.gather(*(call.wait_async(timeout=10) for call in calls))
            assert results == ["transferred"] * 3

    asyncio.run(main())


def test_events_async(direct_farm: sipcc.Farm) -> None:
    async def main() -> List[str]:
        states = []
        with caller(direct_farm, "alice") as ctl:
            ctl.click_to_dial("4000")
            async for event in ctl.events_async(timeout=10):
                states.append(event.state)
                if event.final:
                    break
        return states

    assert asyncio.run(main())[-1] == "transferred"

"""Stopping the daemon's parts: a stop always ends, whenever the cancel lands.

The hang this guards against: every background loop of the daemon parks on "wake me or time
out"; with `asyncio.wait_for` (Python 3.11) a cancel that lands while the wake-up is being
delivered is swallowed, the loop goes round again and its owner's stop waits for ever (a test's
cleanup hit its 90 s timeout that way)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gatewayd import keys
from gatewayd.tasks import stop_tasks, wait_event

from tests.alerts.kit import alert_sections, alerting_gateway, mailbox

pytestmark = pytest.mark.timeout(60)


async def test_wait_event_keeps_a_cancel_that_lands_as_the_event_fires() -> None:
    event = asyncio.Event()
    rounds = 0

    async def loop() -> None:
        nonlocal rounds
        while True:
            event.clear()
            await wait_event(event, 10.0)
            rounds += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0.01)  # parked in wait_event
    event.set()
    await asyncio.sleep(0)  # the wait inside has ended; the loop has not resumed yet
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    assert task in done and task.cancelled(), f"the cancel was swallowed ({rounds} more rounds)"


async def test_wait_event_says_whether_the_event_fired() -> None:
    event = asyncio.Event()
    assert await wait_event(event, 0.01) is False
    asyncio.get_running_loop().call_later(0.01, event.set)
    assert await wait_event(event, 5.0) is True


async def test_stop_tasks_gives_up_on_a_task_that_refuses_to_end(caplog: pytest.LogCaptureFixture) -> None:
    release = asyncio.Event()

    async def stubborn() -> None:
        while not release.is_set():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                pass  # a misbehaving library

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await stop_tasks([task], budget=0.2, what="test") is False
    assert loop.time() - started < 1.0
    assert "stubborn" in caplog.text
    release.set()
    task.cancel()
    await asyncio.wait({task})


def _parked(component: Any) -> bool:
    """The component's loop is waiting on its wake-up event (asyncio.Event keeps its waiters)."""
    return bool(component._wake._waiters)


@pytest.mark.parametrize("key", [keys.ALERTS, keys.EMAIL, keys.WEBHOOKS, keys.CAMPAIGN_RUNNER],
                         ids=["alerts", "email", "webhooks", "campaign_runner"])
async def test_stop_right_after_a_wake_up_ends(tmp_path: Path, key: Any) -> None:
    async with mailbox() as box:
        sections = alert_sections(box, check_seconds=30.0)
        async with alerting_gateway(tmp_path, box, lines=1, sections=sections) as (gw, _):
            component = gw.app[key]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while not _parked(component):
                assert loop.time() < deadline, f"{key} never went idle"
                await asyncio.sleep(0.01)
            task = component._task
            component.wake()
            await asyncio.sleep(0)  # the wake-up is on its way to the loop: cancel now
            await asyncio.wait_for(component.stop(), 5.0)
            assert task.done()


async def test_the_lingering_task_check_names_a_task_left_behind() -> None:
    from tests.leaks import describe, lingering

    before = asyncio.all_tasks()
    finished = asyncio.create_task(asyncio.sleep(0), name="finished")
    await finished
    left_behind = asyncio.create_task(asyncio.sleep(3600), name="left-behind")
    try:
        found = lingering(before)
        assert found == [left_behind]
        assert describe(found[0]) == "left-behind (sleep)"
    finally:
        left_behind.cancel()
        await asyncio.wait({left_behind})
    assert lingering(before) == []

"""gatewayd.ops.scheduler: APScheduler's AsyncIOScheduler driven in Clock time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from gatewayd.clock import FakeClock
from gatewayd.ops.scheduler import Scheduler


async def test_run_at_fires_coroutines_and_cancel_removes() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    scheduler.start()
    fired: list[str] = []
    done = asyncio.Event()

    async def job(name: str) -> None:
        fired.append(name)
        done.set()

    try:
        scheduler.run_at("later", clock.now() + timedelta(days=1), job, "later")
        scheduler.run_at("gone", clock.now() + timedelta(seconds=0.05), job, "gone")
        scheduler.cancel("gone")
        scheduler.cancel("never-existed")  # no error
        scheduler.run_at("now", clock.now() - timedelta(minutes=5), job, "now")  # past: at once
        await asyncio.wait_for(done.wait(), timeout=10)
        # A job due after the cancelled one: once it has fired, "gone" would have fired before it.
        done.clear()
        scheduler.run_at("after", clock.now() + timedelta(seconds=0.1), job, "after")
        await asyncio.wait_for(done.wait(), timeout=10)
        assert fired == ["now", "after"]
        jobs = scheduler.jobs()
        assert set(jobs) == {"later"}
        next_run = jobs["later"]
        # Clock time one day ahead becomes one day of real waiting, whatever the fake clock says.
        assert next_run is not None
        assert timedelta(hours=23, minutes=59) < next_run - datetime.now(UTC) <= timedelta(days=1)
    finally:
        await scheduler.stop()


async def test_stop_cancels_and_awaits_the_jobs_running() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    scheduler.start()
    started = asyncio.Event()
    ended: list[str] = []

    async def long_job() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("cleaned up")

    scheduler.run_at("long", clock.now(), long_job)
    await asyncio.wait_for(started.wait(), timeout=10)
    await scheduler.stop()
    # Owned: the job was cancelled and had finished its cleanup before stop() returned.
    assert ended == ["cleaned up"]
    assert scheduler.jobs() == {}


async def test_run_due_runs_what_a_fake_clock_moved_past() -> None:
    clock = FakeClock()
    scheduler = Scheduler(clock)
    scheduler.start()
    fired: list[str] = []

    async def job(name: str) -> None:
        fired.append(name)

    try:
        scheduler.run_at("b", clock.now() + timedelta(hours=2), job, "b")
        scheduler.run_at("a", clock.now() + timedelta(hours=1), job, "a")
        scheduler.run_at("c", clock.now() + timedelta(hours=3), job, "c")
        assert await scheduler.run_due() == []
        clock.advance(2 * 3600)
        assert await scheduler.run_due() == ["a", "b"]
        assert fired == ["a", "b"] and set(scheduler.jobs()) == {"c"}
    finally:
        await scheduler.stop()


def test_plain_functions_are_refused() -> None:
    scheduler = Scheduler(FakeClock())
    with pytest.raises(TypeError, match="coroutine"):
        scheduler.every("sync", 60, print)

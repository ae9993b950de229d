"""gatewayd.ops.scheduler: APScheduler's AsyncIOScheduler driven in Clock time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

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
        await asyncio.sleep(0.2)
        assert fired == ["now"]
        jobs = scheduler.jobs()
        assert set(jobs) == {"later"}
        next_run = jobs["later"]
        # Clock time one day ahead becomes one day of real waiting, whatever the fake clock says.
        assert next_run is not None
        assert timedelta(hours=23, minutes=59) < next_run - datetime.now(UTC) <= timedelta(days=1)
    finally:
        scheduler.shutdown()

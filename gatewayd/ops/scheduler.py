"""The daemon's timer service: APScheduler's AsyncIOScheduler behind a small, clock-aware API.

It is the one timer for dated work (campaign launches and recurring occurrences, retention, upload
expiry, balance checks): nothing else re-checks dates on a tick. APScheduler keeps no jobs of its
own here (memory job store): the database is the truth and every owner re-registers its jobs at
start (campaigns: CampaignService.restore_schedule). Times are given in the injected Clock's time
and converted to a delay, so a FakeClock in tests and the real clock in production mean the same
thing; `run_due()` runs at once what a FakeClock moved past.

Every job runs as a task of the event loop that `stop()` cancels and awaits (bounded), so no job
outlives the daemon's shutdown.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gatewayd import keys
from gatewayd.clock import Clock
from gatewayd.tasks import stop_tasks

log = logging.getLogger(__name__)

Job = Callable[..., Awaitable[Any]]


class _OwnedJobs(AsyncIOExecutor):  # type: ignore[misc]
    """APScheduler's asyncio executor, keeping the job tasks that its shutdown cancels (it only
    cancels them: it cannot await from its synchronous shutdown) so that stop() awaits them."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled: set[asyncio.Future[Any]] = set()

    def shutdown(self, wait: bool = True) -> None:
        self.cancelled |= {f for f in self._pending_futures if not f.done()}
        super().shutdown(wait)


@dataclass(frozen=True)
class _Dated:
    when: datetime   # Clock time
    func: Job
    args: tuple[Any, ...]


class Scheduler:
    """One AsyncIOScheduler for the whole daemon; jobs are coroutine functions."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._jobs = _OwnedJobs()
        self._scheduler = AsyncIOScheduler(timezone=UTC, executors={"default": self._jobs})
        self._dated: dict[str, _Dated] = {}

    def start(self) -> None:
        self._scheduler.start()

    async def stop(self) -> None:
        """No job starts any more; jobs running are cancelled and awaited (bounded)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
            # AsyncIOScheduler shuts down in a callback queued on the loop: let it run first.
            await asyncio.sleep(0)
        cancelled, self._jobs.cancelled = self._jobs.cancelled, set()
        await stop_tasks(cancelled, what="scheduled jobs")

    def run_at(self, job_id: str, when: datetime, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` once at `when` (Clock time), replacing any job with the same id.

        A time already past runs at once; a job missed while the daemon was down is the owner's
        to catch up at start, since the owner knows whether it still makes sense."""
        _check_coroutine(func)
        self._dated[job_id] = _Dated(when, func, args)
        delay = max(0.0, (when - self.clock.now()).total_seconds())
        run_date = datetime.now(UTC) + timedelta(seconds=delay)
        self._scheduler.add_job(self._run_dated, "date", run_date=run_date, args=(job_id, func, *args), id=job_id,
                                replace_existing=True, misfire_grace_time=None, coalesce=True)

    async def _run_dated(self, job_id: str, func: Job, *args: Any) -> None:
        if (dated := self._dated.get(job_id)) is not None and dated.func == func and dated.args == args:
            del self._dated[job_id]
        await func(*args)

    async def run_due(self) -> list[str]:
        """Run now, one after the other, the dated jobs whose Clock time has come (for a FakeClock
        moved forward: real time has not reached them); the ids run."""
        now = self.clock.now()
        due = sorted((d.when, job_id) for job_id, d in self._dated.items() if d.when <= now)
        for _, job_id in due:
            dated = self._dated.pop(job_id)
            self.cancel(job_id)
            await dated.func(*dated.args)
        return [job_id for _, job_id in due]

    def every(self, job_id: str, seconds: float, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` every `seconds`, never two runs of it at once."""
        _check_coroutine(func)
        self._scheduler.add_job(func, "interval", seconds=seconds, args=args, id=job_id, replace_existing=True,
                                coalesce=True, max_instances=1)

    def cron(self, job_id: str, crontab: str, timezone: str, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on a crontab schedule (minute hour day month weekday) in `timezone`."""
        from zoneinfo import ZoneInfo

        from apscheduler.triggers.cron import CronTrigger

        _check_coroutine(func)
        trigger = CronTrigger.from_crontab(crontab, timezone=ZoneInfo(timezone))
        self._scheduler.add_job(func, trigger, args=args, id=job_id, replace_existing=True, coalesce=True,
                                max_instances=1, misfire_grace_time=3600)

    def cancel(self, job_id: str) -> None:
        self._dated.pop(job_id, None)
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def jobs(self) -> dict[str, datetime | None]:
        """job id -> next run time (UTC), for tests and the console."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}


def _check_coroutine(func: Callable[..., Any]) -> None:
    # APScheduler would run a plain function in a thread pool, outside the loop and its owner.
    if not inspect.iscoroutinefunction(func):
        raise TypeError(f"scheduled jobs are coroutine functions, not {func!r}")


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    scheduler = Scheduler(app[keys.CLOCK])
    scheduler.start()
    app[keys.SCHEDULER] = scheduler
    yield
    await scheduler.stop()

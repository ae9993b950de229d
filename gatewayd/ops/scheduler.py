"""The daemon's timer service: APScheduler's AsyncIOScheduler behind a small, clock-aware API.

APScheduler keeps no jobs of its own here (memory job store): the database is the truth and every
owner re-registers its jobs at start (campaigns: CampaignService.restore_schedule). Times are
given in the injected Clock's time and converted to a delay, so a FakeClock in tests and the real
clock in production mean the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gatewayd import keys
from gatewayd.clock import Clock

log = logging.getLogger(__name__)


class Scheduler:
    """One AsyncIOScheduler for the whole daemon (campaigns now, retention and others later)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    def run_at(self, job_id: str, when: datetime, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` once at `when` (Clock time), replacing any job with the same id.

        A time already past runs at once; a job missed while the daemon was down is the owner's
        to catch up at start, since the owner knows whether it still makes sense."""
        delay = max(0.0, (when - self.clock.now()).total_seconds())
        run_date = datetime.now(UTC) + timedelta(seconds=delay)
        self._scheduler.add_job(func, "date", run_date=run_date, args=args, id=job_id, replace_existing=True,
                                misfire_grace_time=None, coalesce=True)

    def every(self, job_id: str, seconds: float, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` every `seconds`, never two runs of it at once."""
        self._scheduler.add_job(func, "interval", seconds=seconds, args=args, id=job_id, replace_existing=True,
                                coalesce=True, max_instances=1)

    def cron(self, job_id: str, crontab: str, timezone: str, func: Callable[..., Any], *args: Any) -> None:
        """Run `func(*args)` on a crontab schedule (minute hour day month weekday) in `timezone`."""
        from zoneinfo import ZoneInfo

        from apscheduler.triggers.cron import CronTrigger

        trigger = CronTrigger.from_crontab(crontab, timezone=ZoneInfo(timezone))
        self._scheduler.add_job(func, trigger, args=args, id=job_id, replace_existing=True, coalesce=True,
                                max_instances=1, misfire_grace_time=3600)

    def cancel(self, job_id: str) -> None:
        try:
            self._scheduler.remove_job(job_id)
        except JobLookupError:
            pass

    def jobs(self) -> dict[str, datetime | None]:
        """job id -> next run time (UTC), for tests and the console."""
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}


async def scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    scheduler = Scheduler(app[keys.CLOCK])
    scheduler.start()
    app[keys.SCHEDULER] = scheduler
    yield
    scheduler.shutdown()

"""Retention: blank old message texts and drop old webhook logs, daily, in small write batches.

Keeps the database bounded on a box that runs for years while keeping every row that counts
(messages, inbound, calls) and the whole opt-out history. Each batch is its own short write
transaction and the loop yields between batches, so sending is never held up for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite
from aiohttp import web

from gatewayd import keys
from gatewayd.clock import Clock
from gatewayd.config import RetentionSettings
from gatewayd.store import retention as store
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

JOB_ID = "retention"


@dataclass(frozen=True)
class PurgeReport:
    """What one purge changed."""

    message_texts: int
    inbound_texts: int
    thread_previews: int
    webhook_deliveries: int
    webhook_events: int
    batches: int


class Retention:
    """Runs the purge described by the [retention] settings against the database."""

    def __init__(self, db: Database, settings: RetentionSettings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self._lock = asyncio.Lock()
        self.last_report: PurgeReport | None = None

    async def run(self) -> PurgeReport:
        """Purge everything older than the configured ages; safe to call at any time (one run at once)."""
        async with self._lock:
            report = await self._run()
        self.last_report = report
        if report.message_texts or report.inbound_texts or report.webhook_deliveries or report.webhook_events:
            log.info("retention: blanked %d outbound and %d inbound texts, %d thread previews; deleted %d webhook "
                     "deliveries and %d events (%d batches)", report.message_texts, report.inbound_texts,
                     report.thread_previews, report.webhook_deliveries, report.webhook_events, report.batches)
        return report

    async def scheduled_run(self) -> None:
        """Scheduler entry point: a failed purge is logged and tried again at the next run."""
        try:
            await self.run()
        except Exception:
            log.exception("retention purge failed; it will run again at the next interval")

    async def _run(self) -> PurgeReport:
        s = self.settings
        now = self.clock.now()
        batches = 0
        texts = inbound = previews = deliveries = events = 0
        if s.message_body_days > 0:
            before = now - timedelta(days=s.message_body_days)
            texts, n = await self._walk(store.blank_message_texts, before)
            batches += n
            inbound, n = await self._walk(store.blank_inbound_texts, before)
            batches += n
            previews, n = await self._drain(store.blank_thread_previews, before)
            batches += n
        if s.webhook_log_days > 0:
            before = now - timedelta(days=s.webhook_log_days)
            deliveries, n = await self._drain(store.delete_webhook_log, before)
            batches += n
            events, n = await self._drain(store.delete_webhook_events, before)
            batches += n
        return PurgeReport(texts, inbound, previews, deliveries, events, batches)

    async def _walk(self, step: Callable[[aiosqlite.Connection, datetime, int, int], Awaitable[store.Batch]],
                    before: datetime) -> tuple[int, int]:
        """Run a keyset walk batch by batch; (rows changed, batches)."""
        after_id, changed, batches = 0, 0, 0
        while True:
            async with self.db.write() as conn:
                batch = await step(conn, before, after_id, self.settings.batch_size)
            changed += batch.changed
            batches += 1
            after_id = batch.next_after_id
            if batch.done:
                return changed, batches
            await asyncio.sleep(0)  # let the dispatcher and the API take the writer between batches

    async def _drain(self, step: Callable[[aiosqlite.Connection, datetime, int], Awaitable[int]],
                     before: datetime) -> tuple[int, int]:
        """Repeat a batch until it changes fewer rows than the batch size; (rows changed, batches)."""
        changed, batches = 0, 0
        while True:
            async with self.db.write() as conn:
                n = await step(conn, before, self.settings.batch_size)
            changed += n
            batches += 1
            if n < self.settings.batch_size:
                return changed, batches
            await asyncio.sleep(0)


async def retention_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register the purge with the scheduler: once shortly after start, then every interval."""
    settings = app[keys.SETTINGS].retention
    retention = Retention(app[keys.DB], settings, app[keys.CLOCK])
    app[keys.RETENTION] = retention
    scheduler = app[keys.SCHEDULER]
    clock = app[keys.CLOCK]
    # A box that reboots more often than the interval still gets purged.
    scheduler.run_at(f"{JOB_ID}-start", clock.now() + timedelta(minutes=settings.start_delay_minutes),
                     retention.scheduled_run)
    scheduler.every(JOB_ID, settings.interval_hours * 3600, retention.scheduled_run)
    yield
    scheduler.cancel(JOB_ID)
    scheduler.cancel(f"{JOB_ID}-start")

"""AlertService: turns what the box sees (line statuses, the database, the disk, campaign
outcomes, balance checks) into incidents, and tells people once per incident.

An incident is one row in `alerts`, opened once (a unique index forbids a second open one of the
same kind and subject), reminded every `[alerts] reminder_minutes` while it lasts, and resolved
with a recovery message. Opening, reminding and resolving commit in one transaction with what they
send: the e-mail (outbox), the SMS to the admin numbers (the outbound queue, transactional, through
any line that can send) and the webhook event. The console reads the same rows.

The one incident that cannot be written down is the database refusing writes: it lives in memory,
its e-mail goes straight to the SMTP server, and its recovery is recorded once writes work again.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiosqlite

from gatewayd.alerts import readiness
from gatewayd.alerts.rules import CONDITION_KINDS, Condition, Snapshot, Tracker
from gatewayd.alerts.texts import describe
from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.modem.events import LineStatus
from gatewayd.phone import mask
from gatewayd.store import alerts as store
from gatewayd.store import email_outbox
from gatewayd.store import webhooks as webhook_store
from gatewayd.store.db import Database
from gatewayd.store.errors import DatabaseError

if TYPE_CHECKING:  # both import much of the daemon; the alerts only call them
    from gatewayd.email.sender import EmailSender
    from gatewayd.outbound.service import OutboundService

log = logging.getLogger(__name__)

# (kind, phase) -> webhook event type; reminders raise none (a receiver has the incident already).
WEBHOOK_EVENTS = {
    ("line_down", "opened"): "line.down", ("line_down", "resolved"): "line.up",
    ("registration_lost", "opened"): "line.down", ("registration_lost", "resolved"): "line.up",
    ("storage_full", "opened"): "storage.full",
    ("campaign_paused", "opened"): "campaign.paused",
    ("campaign_completed", "opened"): "campaign.completed",
    ("balance_low", "opened"): "balance.low",
}

CAMPAIGN_CURSOR = "alerts.campaigns_ms"


@dataclass
class MemoryIncident:
    """The database-unwritable incident (it cannot be stored while it lasts)."""

    reason: str
    opened_at: datetime


class AlertService:
    def __init__(self, db: Database, settings: Settings, clock: Clock, *,
                 statuses: Callable[[], list[LineStatus]], outbound: OutboundService | None = None,
                 email: EmailSender | None = None, on_webhook_events: Callable[[], None] | None = None) -> None:
        self.db = db
        self.settings = settings
        self.config = settings.alerts
        self.clock = clock
        self.statuses = statuses
        self.outbound = outbound
        self.email = email
        self.on_webhook_events = on_webhook_events or (lambda: None)
        self.tracker = Tracker(self.config.line_down_after_seconds, self.config.disk_low_mb * 1_000_000)
        self.db_incident: MemoryIncident | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.ticks = 0
        self.unread = 0   # alerts nobody acknowledged (the console's badge), refreshed at each check

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="alerts")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._pending) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def on_line_status(self, status: LineStatus) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("alert check failed")
            # Line trouble becomes "down" after a delay: look again when it is due, not later.
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._next_delay())
            except asyncio.TimeoutError:
                pass

    def _next_delay(self) -> float:
        delay = self.config.check_seconds
        now = self.clock.now()
        for since in self.tracker.bad_since.values():
            due = (since + timedelta(seconds=self.config.line_down_after_seconds) - now).total_seconds()
            delay = min(delay, max(0.05, due + 0.01))
        return delay

    # ------------------------------------------------------------------ one check

    async def tick(self) -> None:
        """Look at everything once: open, remind and resolve incidents as the facts say."""
        now = self.clock.now()
        write_error = await readiness.probe_write(self.db)
        snap = Snapshot(now, tuple(self.statuses()), self.db.usage().free_bytes, write_error)
        conditions = self.tracker.evaluate(snap)
        await self._database(write_error, now)
        if write_error is None:
            await self._reconcile(conditions, now)
            await self._campaigns(now)
        self.unread, _ = await self.unacknowledged(limit=0)
        self.ticks += 1

    async def _reconcile(self, conditions: list[Condition], now: datetime) -> None:
        current = {(c.kind, c.subject): c for c in conditions if c.kind != "database_unwritable"}
        open_now = {(a.kind, a.subject): a for a in await store.open_alerts(self.db)}
        for key, condition in current.items():
            if key not in open_now:
                await self.open(condition.kind, condition.subject, condition.params)
        reminder = timedelta(minutes=self.config.reminder_minutes)
        for key, alert in open_now.items():
            if alert.kind in CONDITION_KINDS and key not in current:
                await self.resolve(alert)
            elif self.config.reminder_minutes and now - (alert.reminded_at or alert.opened_at) >= reminder:
                await self._remind(alert)

    async def _database(self, write_error: str | None, now: datetime) -> None:
        if write_error is not None and self.db_incident is None:
            self.db_incident = MemoryIncident(write_error, now)
            log.error("ALERT: the database cannot be written: %s", write_error)
            self._direct_email("database_unwritable", {"reason": write_error}, "opened")
        elif write_error is None and self.db_incident is not None:
            params = {"reason": self.db_incident.reason}
            self.db_incident = None
            log.warning("RECOVERED: the database accepts writes again")
            async with self.db.write() as conn:
                alert_id = await store.open_alert(conn, kind="database_unwritable", subject="", params=params,
                                                  now=now, resolved=True)
                await self._notify(conn, alert_id, "database_unwritable", params, "resolved", now)
            self._after_commit()

    async def _campaigns(self, now: datetime) -> None:
        async with self.db.read() as conn:
            mark = await store.cursor(conn, CAMPAIGN_CURSOR)
        if mark is None:  # first run: campaigns that ended before alerts existed say nothing
            async with self.db.write() as conn:
                await store.set_cursor(conn, CAMPAIGN_CURSOR, int(now.timestamp() * 1000))
            return
        since = datetime.fromtimestamp(mark / 1000, tz=now.tzinfo)
        for outcome in await store.campaign_outcomes(self.db, since):
            paused = outcome.state == "paused"
            kind = "campaign_paused" if paused else "campaign_completed"
            # A campaign may be auto-paused again after a resume: each pause is its own event.
            subject = f"{outcome.id}@{int(outcome.at.timestamp() * 1000)}" if paused else str(outcome.id)
            if await store.exists(self.db, kind, subject):
                continue
            reason = (outcome.reason or "").removeprefix("auto-paused:").strip()
            await self.open(kind, subject, {"campaign_id": outcome.id, "name": outcome.name, "reason": reason},
                            event=True)
            mark = max(mark, int(outcome.at.timestamp() * 1000))
        async with self.db.write() as conn:
            await store.set_cursor(conn, CAMPAIGN_CURSOR, mark)

    # ------------------------------------------------------------------ incidents

    async def open(self, kind: str, subject: str, params: dict[str, Any], *, event: bool = False) -> int | None:
        """Open an incident and tell people (None when one is already open). `event`: a fact with
        no recovery (a campaign finished), recorded closed at once."""
        now = self.clock.now()
        try:
            async with self.db.write() as conn:
                alert_id = await store.open_alert(conn, kind=kind, subject=subject, params=params, now=now,
                                                  resolved=event)
                await self._notify(conn, alert_id, kind, params, "opened", now)
        except store.AlreadyOpen:
            return None
        log.warning("ALERT %s %s: %s", kind, subject, describe(kind, params, "en").text)
        self._after_commit()
        return alert_id

    async def resolve(self, alert: store.Alert, params: dict[str, Any] | None = None) -> None:
        """Close an incident with its recovery message (`params`: the facts now, e.g. the new balance)."""
        now = self.clock.now()
        async with self.db.write() as conn:
            if not await store.resolve(conn, alert.id, now):
                return
            await self._notify(conn, alert.id, alert.kind, {**alert.params, **(params or {})}, "resolved", now)
        log.warning("RECOVERED %s %s", alert.kind, alert.subject)
        self._after_commit()

    async def _remind(self, alert: store.Alert) -> None:
        now = self.clock.now()
        async with self.db.write() as conn:
            await store.remind(conn, alert.id, now)
            await self._notify(conn, alert.id, alert.kind, alert.params, "reminder", now)
        self._after_commit()

    async def set_condition(self, kind: str, subject: str, params: dict[str, Any], active: bool) -> None:
        """For facts measured elsewhere (a balance check): open while active, resolve when not."""
        if active:
            await self.open(kind, subject, params)
            return
        for alert in await store.open_alerts(self.db):
            if alert.kind == kind and alert.subject == subject:
                await self.resolve(alert, params)

    # ------------------------------------------------------------------ delivery

    async def _notify(self, conn: aiosqlite.Connection, alert_id: int, kind: str, params: dict[str, Any],
                      phase: str, now: datetime) -> None:
        """Queue the e-mail, the SMS and the webhook event of one alert message, in `conn`'s transaction."""
        words = describe(kind, params, self.settings.site.language, phase)
        if self.config.email and self.settings.email.enabled:
            await email_outbox.enqueue(conn, purpose="alert", recipients=self.config.email, subject=words.subject,
                                       body=words.text + "\n", now=now)
        if self.config.sms and self.outbound is not None:
            await self._queue_sms(conn, f"{words.subject}"[:300])
        event = WEBHOOK_EVENTS.get((kind, phase))
        if event is not None and await webhook_store.any_subscriber(conn):
            data = {"alert_id": alert_id, "kind": kind, **params, "text": words.text}
            await webhook_store.enqueue_events(conn, [(event, data)], now)

    async def _queue_sms(self, conn: aiosqlite.Connection, text: str) -> None:
        """One transactional SMS per admin number through outbound's composition step (the same
        rules as every other entry point), committed with the alert; any line that can send takes it."""
        from gatewayd.outbound.compose import Draft
        from gatewayd.outbound.model import Category
        from gatewayd.phone import normalise

        outbound = self.outbound
        if outbound is None:
            return
        region = self.settings.sending.default_region
        for number in self.config.sms:
            # A savepoint: a number the queue refuses must not cost the alert its other channels.
            await conn.execute("SAVEPOINT alert_sms")
            try:
                draft = Draft(recipients=(normalise(number, region),), text=text, category=Category.TRANSACTIONAL,
                              source="alert", ttl=timedelta(hours=24), created_by="alerts")
                await outbound.submit_draft(draft, conn=conn)
                await conn.execute("RELEASE alert_sms")
            except Exception as exc:  # noqa: BLE001 - logged; the e-mail and the webhook still go
                await conn.execute("ROLLBACK TO alert_sms")
                await conn.execute("RELEASE alert_sms")
                log.error("alert SMS to %s not queued: %s", mask(number), exc)

    def _after_commit(self) -> None:
        if self.email is not None:
            self.email.wake()
        self.on_webhook_events()

    def _direct_email(self, kind: str, params: dict[str, Any], phase: str) -> None:
        """Straight to the SMTP server (the outbox is in the database that refuses writes)."""
        sender = self.email
        if sender is None or not sender.enabled or not self.config.email:
            return
        words = describe(kind, params, self.settings.site.language, phase)

        async def send() -> None:
            try:
                await sender.deliver(self.config.email, words.subject, words.text + "\n")
            except Exception as exc:  # noqa: BLE001 - nowhere else to say it
                log.error("alert e-mail %r not sent: %s", words.subject, exc)

        task = asyncio.create_task(send(), name="alert-direct-email")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    # ------------------------------------------------------------------ console

    async def unacknowledged(self, *, limit: int = 20) -> tuple[int, list[store.Alert]]:
        try:
            return await store.unacknowledged(self.db, limit=limit)
        except (DatabaseError, sqlite3.Error):
            return 0, []

    async def acknowledge(self, by: str, alert_id: int | None = None) -> int:
        """A user saw one alert (or all of them): it leaves the badge and the banner."""
        changed = await store.acknowledge(self.db, by=by, now=self.clock.now(), alert_id=alert_id)
        self.unread, _ = await self.unacknowledged(limit=0)
        return changed

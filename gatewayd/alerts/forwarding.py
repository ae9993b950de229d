"""Forwarding of received SMS by e-mail ([forwarding] email, optionally only some lines).

It follows the inbound table with a persisted cursor: the e-mails of a batch and the cursor move
commit together, so a restart neither forwards a message twice nor skips one, and a mail server
that is down only delays them (the outbox retries)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.store import alerts as store
from gatewayd.store import email_outbox
from gatewayd.store.db import Database
from gatewayd.store.errors import DiskFull

log = logging.getLogger(__name__)

CURSOR = "forwarding.inbound_id"
BATCH = 100

_WORDS = {
    "fr": {"subject": "SMS de {who} sur {line}", "from": "De", "line": "Ligne", "time": "Reçu le",
           "format": "%d/%m/%Y à %H:%M:%S", "empty": "(message vide ou illisible)"},
    "en": {"subject": "SMS from {who} on {line}", "from": "From", "line": "Line", "time": "Received",
           "format": "%Y-%m-%d %H:%M:%S", "empty": "(empty or unreadable message)"},
}


def forward_email(sms: store.ReceivedSms, language: str, zone: ZoneInfo) -> tuple[str, str]:
    """(subject, body) of the e-mail for one received SMS (pure)."""
    w = _WORDS.get(language, _WORDS["en"])
    sender = sms.sender or "?"
    who = f"{sms.contact} ({sender})" if sms.contact else sender
    when = sms.received_at.astimezone(zone)
    subject = w["subject"].format(who=who, line=sms.line)
    body = (f"{w['from']}: {who}\n{w['line']}: {sms.line}\n"
            f"{w['time']}: {when.strftime(w['format'])} ({zone.key})\n\n{sms.text or w['empty']}\n")
    return subject, body


class Forwarder:
    def __init__(self, db: Database, settings: Settings, clock: Clock, *, wake_email: Callable[[], None],
                 interval: float = 2.0) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.wake_email = wake_email
        self.interval = interval
        self.zone = ZoneInfo(settings.site.timezone)
        self._task: asyncio.Task[None] | None = None
        self.forwarded = 0

    @property
    def enabled(self) -> bool:
        return bool(self.settings.forwarding.email) and self.settings.email.enabled

    async def start(self) -> None:
        if not self.enabled:
            return
        async with self.db.write() as conn:
            if await store.cursor(conn, CURSOR) is None:  # switched on now: from the next SMS on
                await store.set_cursor(conn, CURSOR, await store.max_inbound_id(conn))
        self._task = asyncio.create_task(self._run(), name="sms-forwarding")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                while await self.step():
                    pass
            except asyncio.CancelledError:
                raise
            except DiskFull:
                pass
            except Exception:
                log.exception("SMS forwarding pass failed")
            await asyncio.sleep(self.interval)

    async def step(self) -> int:
        """Forward the next batch of received SMS; how many were looked at."""
        cfg = self.settings.forwarding
        now: datetime = self.clock.now()
        async with self.db.write() as conn:
            after = await store.cursor(conn, CURSOR) or 0
            batch = await store.inbound_after(conn, after, limit=BATCH)
            if not batch:
                return 0
            for sms in batch:
                if cfg.lines and sms.line not in cfg.lines:
                    continue
                subject, body = forward_email(sms, self.settings.site.language, self.zone)
                await email_outbox.enqueue(conn, purpose="forward", recipients=cfg.email, subject=subject,
                                           body=body, now=now)
                self.forwarded += 1
            await store.set_cursor(conn, CURSOR, batch[-1].id)
        self.wake_email()
        return len(batch)

"""Inbound test fixtures (the database is tests/conftest.py's `db`): SMS parts as the modem hands them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any


from gatewayd.modem.events import Concat, IncomingSms
from gatewayd.store.db import Database


T0 = datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)


def sms(text: str, *, sender: str = "+33612345678", line: str = "line1", at: datetime | None = T0,
        seconds: float = 0, concat: tuple[int, int, int] | None = None, pdu: str | None = None,
        undecodable: str | None = None, slot: str | None = None) -> IncomingSms:
    """One part as the driver hands it over (`concat` = (reference, total, sequence)); `slot`
    "SM/3" when read from modem storage, None when delivered directly."""
    when = at + timedelta(seconds=seconds) if at is not None else None
    part = Concat(*concat) if concat else None
    raw = pdu or ("07913366003000F0" + text.encode().hex().upper() + f"{seconds:08.0f}")
    return IncomingSms(line, sender, text, when, part, raw, undecodable, slot)



async def subscribe_all(db: Database, now: datetime) -> None:
    """A webhook endpoint for every event, so the outbox keeps them (it stores nothing nobody wants)."""
    from gatewayd.store import webhooks

    await webhooks.create_endpoint(db, url="http://127.0.0.1:9/hook", secret="s3cret", events=["*"],
                                   description="test", now=now)


async def events(db: Database) -> list[tuple[str, dict[str, Any]]]:
    """Webhook events in the outbox so far, oldest first."""
    async with db.read() as conn, conn.execute("SELECT type, payload FROM webhook_events ORDER BY id") as cur:
        return [(r[0], json.loads(r[1])) for r in await cur.fetchall()]

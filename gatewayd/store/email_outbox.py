"""The e-mail outbox: messages waiting for the SMTP server, written inside the caller's
transaction (an alert or a forwarded SMS commits with its cause) and drained by gatewayd.email."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Email:
    id: int
    purpose: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    state: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_at: datetime
    sent_at: datetime | None


def _row(r: aiosqlite.Row) -> Email:
    return Email(r["id"], r["purpose"], tuple(json.loads(r["recipients"])), r["subject"], r["body"], r["state"],
                 r["attempts"], r["last_error"], parse_iso_required(r["created_at"]), parse_iso_required(r["next_at"]),
                 parse_iso(r["sent_at"]))


async def enqueue(conn: aiosqlite.Connection, *, purpose: str, recipients: Sequence[str], subject: str, body: str,
                  now: datetime) -> int:
    """Queue one message (inside the caller's write transaction); its id."""
    iso = utc_iso(now)
    cur = await conn.execute(
        "INSERT INTO email_outbox (purpose, recipients, subject, body, created_at, next_at) VALUES (?, ?, ?, ?, ?, ?)",
        (purpose, json.dumps(list(recipients)), subject, body, iso, iso))
    return int(cur.lastrowid or 0)


async def due(db: Database, now: datetime, *, limit: int) -> list[Email]:
    """The oldest pending messages, in the order they were queued, up to the first one not due
    yet: an alert's e-mail never arrives after its recovery's because a retry jittered."""
    async with db.read() as conn, conn.execute(
            "SELECT * FROM email_outbox WHERE state = 'pending' ORDER BY id LIMIT ?", (limit,)) as cur:
        rows = [_row(r) for r in await cur.fetchall()]
    out = []
    for row in rows:
        if row.next_at > now:
            break
        out.append(row)
    return out


async def next_due_at(db: Database) -> datetime | None:
    """When the oldest pending message is due (the others wait behind it)."""
    async with db.read() as conn, conn.execute(
            "SELECT next_at FROM email_outbox WHERE state = 'pending' ORDER BY id LIMIT 1") as cur:
        row = await cur.fetchone()
    return parse_iso(row[0]) if row and row[0] else None


async def record(db: Database, email_id: int, *, attempts: int, state: str, error: str | None,
                 at: datetime, next_at: datetime | None) -> None:
    """One attempt's outcome: sent, failed for good, or pending until next_at."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE email_outbox SET attempts = ?, state = ?, last_error = ?, next_at = COALESCE(?, next_at), "
            "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
            (attempts, state, error, utc_iso(next_at), state, utc_iso(at), email_id))


async def get(db: Database, email_id: int) -> Email | None:
    async with db.read() as conn, conn.execute("SELECT * FROM email_outbox WHERE id = ?", (email_id,)) as cur:
        row = await cur.fetchone()
    return _row(row) if row else None


async def recent(db: Database, *, limit: int = 50) -> list[Email]:
    async with db.read() as conn, conn.execute("SELECT * FROM email_outbox ORDER BY id DESC LIMIT ?", (limit,)) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def counts(db: Database) -> dict[str, int]:
    async with db.read() as conn, conn.execute("SELECT state, COUNT(*) FROM email_outbox GROUP BY state") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}

"""Alerts (one row per incident), the named cursors of background readers, prepaid balance checks,
and the reads the alert and forwarding services make of other aggregates (campaign outcomes,
newly received SMS with the sender's contact name)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.campaigns import AUTO_PAUSE_PREFIX, decode_pause
from gatewayd.store.db import Database


class AlreadyOpen(Exception):
    """An incident of this kind and subject is already open (its alert was already given)."""


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    subject: str
    state: str
    params: dict[str, Any]
    opened_at: datetime
    reminded_at: datetime | None
    reminders: int
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None


def _alert(r: aiosqlite.Row) -> Alert:
    return Alert(r["id"], r["kind"], r["subject"], r["state"], json.loads(r["params"]),
                 parse_iso_required(r["opened_at"]), parse_iso(r["reminded_at"]), r["reminders"],
                 parse_iso(r["resolved_at"]), parse_iso(r["acknowledged_at"]), r["acknowledged_by"])


async def open_alert(conn: aiosqlite.Connection, *, kind: str, subject: str, params: dict[str, Any],
                     now: datetime, resolved: bool = False) -> int:
    """A new incident (AlreadyOpen when one of this kind and subject is open). `resolved`: an
    event with nothing to recover from (a campaign finished), recorded closed at once."""
    iso = utc_iso(now)
    try:
        cur = await conn.execute(
            "INSERT INTO alerts (kind, subject, state, params, opened_at, resolved_at) VALUES (?, ?, ?, ?, ?, ?)",
            (kind, subject, "resolved" if resolved else "open", json.dumps(params, ensure_ascii=False), iso,
             iso if resolved else None))
    except sqlite3.IntegrityError:
        raise AlreadyOpen(f"{kind} {subject}") from None
    return int(cur.lastrowid or 0)


async def resolve(conn: aiosqlite.Connection, alert_id: int, now: datetime) -> bool:
    cur = await conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'open'",
                             (utc_iso(now), alert_id))
    return cur.rowcount == 1


async def remind(conn: aiosqlite.Connection, alert_id: int, now: datetime) -> None:
    await conn.execute("UPDATE alerts SET reminded_at = ?, reminders = reminders + 1 WHERE id = ?",
                       (utc_iso(now), alert_id))


async def open_alerts(db: Database) -> list[Alert]:
    async with db.read() as conn, conn.execute("SELECT * FROM alerts WHERE state = 'open' ORDER BY id") as cur:
        return [_alert(r) for r in await cur.fetchall()]


async def exists(db: Database, kind: str, subject: str) -> bool:
    """Whether any alert (open or not) of this kind and subject was ever recorded."""
    async with db.read() as conn, conn.execute(
            "SELECT 1 FROM alerts WHERE kind = ? AND subject = ? LIMIT 1", (kind, subject)) as cur:
        return await cur.fetchone() is not None


async def recent(db: Database, *, limit: int = 50) -> list[Alert]:
    async with db.read() as conn, conn.execute("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", (limit,)) as cur:
        return [_alert(r) for r in await cur.fetchall()]


async def unacknowledged(db: Database, *, limit: int = 20) -> tuple[int, list[Alert]]:
    """How many alerts nobody acknowledged yet, and the latest of them."""
    async with db.read() as conn:
        async with conn.execute("SELECT COUNT(*) FROM alerts WHERE acknowledged_at IS NULL") as cur:
            row = await cur.fetchone()
        async with conn.execute("SELECT * FROM alerts WHERE acknowledged_at IS NULL ORDER BY id DESC LIMIT ?",
                                (limit,)) as cur:
            rows = [_alert(r) for r in await cur.fetchall()]
    return (int(row[0]) if row else 0), rows


async def acknowledge(db: Database, *, by: str, now: datetime, alert_id: int | None = None) -> int:
    """Mark one alert (or all) as seen by `by`; how many changed."""
    async with db.write() as conn:
        if alert_id is None:
            cur = await conn.execute("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? "
                                     "WHERE acknowledged_at IS NULL", (utc_iso(now), by))
        else:
            cur = await conn.execute("UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ? "
                                     "WHERE id = ? AND acknowledged_at IS NULL", (utc_iso(now), by, alert_id))
        return cur.rowcount


# ------------------------------------------------------------------ cursors


async def cursor(conn: aiosqlite.Connection, name: str) -> int | None:
    async with conn.execute("SELECT value FROM cursors WHERE name = ?", (name,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else None


async def set_cursor(conn: aiosqlite.Connection, name: str, value: int) -> None:
    await conn.execute("INSERT INTO cursors (name, value) VALUES (?, ?) "
                       "ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))


# ------------------------------------------------------------------ reads of other aggregates


@dataclass(frozen=True)
class CampaignOutcome:
    id: int
    name: str
    state: str                   # 'paused' (auto) or 'completed'
    reason: str | None
    at: datetime


async def campaign_outcomes(db: Database, since: datetime) -> list[CampaignOutcome]:
    """Campaigns auto-paused or completed at or after `since`."""
    iso = utc_iso(since)
    async with db.read() as conn, conn.execute(
            "SELECT id, name, state, pause_reason, COALESCE(finished_at, paused_at) AS at FROM campaigns "
            "WHERE (state = 'paused' AND (pause_reason LIKE 'auto-paused%' OR pause_reason LIKE ?) AND paused_at >= ?) "
            "OR (state = 'completed' AND finished_at >= ?) ORDER BY at", (AUTO_PAUSE_PREFIX + "%", iso, iso)) as cur:
        return [CampaignOutcome(r["id"], r["name"], r["state"], decode_pause(r["pause_reason"])[0],
                                parse_iso_required(r["at"]))
                for r in await cur.fetchall()]


@dataclass(frozen=True)
class ReceivedSms:
    id: int
    line: str
    sender: str
    contact: str | None          # "First Last" of the contact with this number, if any
    text: str
    received_at: datetime


async def max_inbound_id(conn: aiosqlite.Connection) -> int:
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM inbound_messages") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def inbound_after(conn: aiosqlite.Connection, after_id: int, *, limit: int) -> list[ReceivedSms]:
    async with conn.execute(
            "SELECT m.id, m.line, m.sender, m.text, m.received_at, "
            "TRIM(COALESCE(c.first_name, '') || ' ' || COALESCE(c.last_name, '')) AS contact "
            "FROM inbound_messages m LEFT JOIN contacts c ON c.mobile = m.sender "
            "WHERE m.id > ? ORDER BY m.id LIMIT ?", (after_id, limit)) as cur:
        return [ReceivedSms(r["id"], r["line"], r["sender"], r["contact"] or None, r["text"],
                            parse_iso_required(r["received_at"]))
                for r in await cur.fetchall()]


# ------------------------------------------------------------------ balance checks


@dataclass(frozen=True)
class BalanceCheck:
    line: str
    checked_at: datetime
    code: str
    answer: str | None
    amount: float | None
    error: str | None


async def record_balance(conn: aiosqlite.Connection, check: BalanceCheck) -> None:
    await conn.execute(
        "INSERT INTO balance_checks (line, checked_at, code, answer, amount, error) VALUES (?, ?, ?, ?, ?, ?)",
        (check.line, utc_iso(check.checked_at), check.code, check.answer, check.amount, check.error))


async def latest_balances(db: Database) -> dict[str, BalanceCheck]:
    async with db.read() as conn, conn.execute(
            "SELECT b.* FROM balance_checks b JOIN (SELECT line, MAX(id) AS id FROM balance_checks GROUP BY line) l "
            "ON b.id = l.id") as cur:
        return {r["line"]: BalanceCheck(r["line"], parse_iso_required(r["checked_at"]), r["code"], r["answer"],
                                        r["amount"], r["error"]) for r in await cur.fetchall()}

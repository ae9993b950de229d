"""Opt-outs: append-only `opt_out_events`; whether a number is opted out is its latest event."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class OptOutEvent:
    id: int
    number: str
    action: str            # 'out' | 'in'
    source: str            # sms | api | console | import | call
    line: str | None
    inbound_id: int | None
    actor: str | None
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class OptOut:
    number: str
    created_at: datetime
    source: str
    line: str | None
    inbound_id: int | None


def _event(r: sqlite3.Row) -> OptOutEvent:
    return OptOutEvent(r["id"], r["number"], r["action"], r["source"], r["line"], r["inbound_id"],
                       r["actor"], r["note"], parse_iso_required(r["created_at"]))


async def record(conn: aiosqlite.Connection, *, number: str, action: str, source: str, now: datetime,
                 line: str | None = None, inbound_id: int | None = None, actor: str | None = None,
                 note: str | None = None) -> int:
    """Append one event inside the caller's write transaction (so it commits with its cause)."""
    cur = await conn.execute(
        "INSERT INTO opt_out_events (number, action, source, line, inbound_id, actor, note, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (number, action, source, line, inbound_id, actor, note, utc_iso(now)),
    )
    return int(cur.lastrowid or 0)


async def record_many(conn: aiosqlite.Connection, numbers: Sequence[str], *, action: str, source: str, now: datetime,
                      actor: str | None = None, note: str | None = None) -> None:
    """The same event for many numbers (a list added by hand), inside the caller's transaction."""
    iso = utc_iso(now)
    await conn.executemany(
        "INSERT INTO opt_out_events (number, action, source, actor, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        [(n, action, source, actor, note, iso) for n in numbers])


async def is_opted_out(conn: aiosqlite.Connection, number: str) -> bool:
    """Whether `number`'s latest event is an opt-out (usable inside a write transaction)."""
    async with conn.execute(
        "SELECT action FROM opt_out_events WHERE number = ? ORDER BY id DESC LIMIT 1", (number,)
    ) as cur:
        row = await cur.fetchone()
    return bool(row and row[0] == "out")


async def opted_out_among(conn: aiosqlite.Connection, numbers: list[str]) -> set[str]:
    """The subset of `numbers` opted out now (chunked for SQLite's parameter limit)."""
    found: set[str] = set()
    for start in range(0, len(numbers), 500):
        chunk = numbers[start:start + 500]
        marks = ",".join("?" * len(chunk))
        async with conn.execute(f"SELECT number FROM opt_outs_current WHERE number IN ({marks})", chunk) as cur:
            found.update(r[0] for r in await cur.fetchall())
    return found


async def current(db: Database, *, limit: int = 100, after_number: str | None = None) -> list[OptOut]:
    """The current opt-out list ordered by number (keyset pagination on number)."""
    async with db.read() as conn, conn.execute(
        "SELECT * FROM opt_outs_current WHERE number > ? ORDER BY number LIMIT ?", (after_number or "", limit)
    ) as cur:
        rows = await cur.fetchall()
    return [OptOut(r["number"], parse_iso_required(r["created_at"]), r["source"], r["line"], r["inbound_id"])
            for r in rows]


async def history(db: Database, *, number: str | None = None, limit: int = 100,
                  before_id: int | None = None) -> list[OptOutEvent]:
    """Events newest first, optionally for one number (keyset pagination on id)."""
    sql = "SELECT * FROM opt_out_events WHERE id < ?"
    args: list[object] = [before_id or 2**62]
    if number:
        sql += " AND number = ?"
        args.append(number)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn, conn.execute(sql, args) as cur:
        return [_event(r) for r in await cur.fetchall()]

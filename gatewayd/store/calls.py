"""The call log: every incoming call on every line."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Call:
    id: int
    line: str
    number: str | None            # None when the caller withheld it
    started_at: datetime
    ended_at: datetime
    rings: int
    hung_up_by: str               # 'us' | 'caller'
    reply_message_id: int | None  # the missed-call SMS queued, if any


def _call(r: sqlite3.Row) -> Call:
    return Call(r["id"], r["line"], r["number"], parse_iso_required(r["started_at"]),
                parse_iso_required(r["ended_at"]), r["rings"], r["hung_up_by"], r["reply_message_id"])


async def add(conn: aiosqlite.Connection, *, line: str, number: str | None, started_at: datetime,
              ended_at: datetime, rings: int, hung_up_by_us: bool) -> int:
    """Log one call inside the caller's transaction; its id."""
    cur = await conn.execute(
        "INSERT INTO calls (line, number, started_at, ended_at, rings, hung_up_by) VALUES (?, ?, ?, ?, ?, ?)",
        (line, number, utc_iso(started_at), utc_iso(ended_at), rings, "us" if hung_up_by_us else "caller"),
    )
    return int(cur.lastrowid or 0)


async def set_reply(conn: aiosqlite.Connection, call_id: int, message_id: int) -> None:
    await conn.execute("UPDATE calls SET reply_message_id = ? WHERE id = ?", (message_id, call_id))


async def get(db: Database, call_id: int) -> Call | None:
    async with db.read() as conn, conn.execute("SELECT * FROM calls WHERE id = ?", (call_id,)) as cur:
        row = await cur.fetchone()
    return _call(row) if row else None


async def listing(db: Database, *, limit: int = 100, before_id: int | None = None,
                  number: str | None = None, line: str | None = None) -> list[Call]:
    """Calls newest first (keyset on id), optionally from one number and/or on one line."""
    sql = "SELECT * FROM calls WHERE id < ?"
    args: list[object] = [before_id or 2**62]
    if number:
        sql += " AND number = ?"
        args.append(number)
    if line:
        sql += " AND line = ?"
        args.append(line)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn, conn.execute(sql, args) as cur:
        return [_call(r) for r in await cur.fetchall()]

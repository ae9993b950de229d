"""Line labels and numbers set by an administrator (table line_identity)."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from gatewayd.clock import utc_iso


async def all_of(conn: aiosqlite.Connection) -> dict[str, tuple[str, str | None]]:
    """line name -> (label, number)."""
    async with conn.execute("SELECT name, label, number FROM line_identity") as cur:
        return {r[0]: (r[1], r[2]) for r in await cur.fetchall()}


async def put(conn: aiosqlite.Connection, name: str, label: str, number: str | None, actor: str | None,
              now: datetime) -> None:
    await conn.execute(
        "INSERT INTO line_identity (name, label, number, updated_by, updated_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET label = excluded.label, number = excluded.number,"
        " updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        (name, label, number, actor, utc_iso(now)))

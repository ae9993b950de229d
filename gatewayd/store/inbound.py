"""Inbound SMS: raw parts as read from the modems (deduplicated) and whole messages."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Part:
    id: int
    line: str
    sender: str
    smsc_time: datetime | None
    concat_ref: int | None
    concat_total: int | None
    concat_seq: int | None
    text: str
    pdu: str
    undecodable: str | None
    message_id: int | None
    received_at: datetime


@dataclass(frozen=True)
class InboundMessage:
    id: int
    thread_id: int | None
    line: str
    sender: str
    text: str
    smsc_time: datetime | None
    received_at: datetime
    parts_total: int
    parts_missing: tuple[int, ...]      # empty when complete
    concat_ref: int | None
    undecodable: str | None
    intent: str | None


def _part(r: sqlite3.Row) -> Part:
    return Part(r["id"], r["line"], r["sender"], parse_iso(r["smsc_time"]), r["concat_ref"], r["concat_total"],
                r["concat_seq"], r["text"], r["pdu"], r["undecodable"], r["message_id"],
                parse_iso_required(r["received_at"]))


def _message(r: sqlite3.Row) -> InboundMessage:
    missing = tuple(int(x) for x in r["parts_missing"].split(",")) if r["parts_missing"] else ()
    return InboundMessage(r["id"], r["thread_id"], r["line"], r["sender"], r["text"], parse_iso(r["smsc_time"]),
                          parse_iso_required(r["received_at"]), r["parts_total"], missing,
                          r["concat_ref"], r["undecodable"], r["intent"])


# -- parts --------------------------------------------------------------------------------------

async def add_part(conn: aiosqlite.Connection, *, line: str, sender: str, smsc_time: datetime | None,
                   concat: tuple[int, int, int] | None, text: str, pdu: str, undecodable: str | None,
                   dedup_key: str, now: datetime) -> int | None:
    """Store one part; its id, or None when a part with `dedup_key` is already stored."""
    ref, total, seq = concat if concat else (None, None, None)
    cur = await conn.execute(
        "INSERT INTO inbound_parts (line, sender, smsc_time, concat_ref, concat_total, concat_seq, text, pdu,"
        " undecodable, dedup_key, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (dedup_key) DO NOTHING",
        (line, sender, utc_iso(smsc_time), ref, total, seq, text, pdu, undecodable, dedup_key, utc_iso(now)),
    )
    return int(cur.lastrowid) if cur.rowcount == 1 and cur.lastrowid else None


async def release_key(conn: aiosqlite.Connection, dedup_key: str) -> bool:
    """Retire `dedup_key`: the part keeps a unique key that nothing matches again; False when no
    part holds it."""
    async with conn.execute("SELECT id FROM inbound_parts WHERE dedup_key = ?", (dedup_key,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return False
    await conn.execute("UPDATE inbound_parts SET dedup_key = ? WHERE id = ?", (f"released:{row[0]}:{dedup_key}", row[0]))
    return True


async def part_by_key(conn: aiosqlite.Connection, dedup_key: str) -> Part | None:
    async with conn.execute("SELECT * FROM inbound_parts WHERE dedup_key = ?", (dedup_key,)) as cur:
        row = await cur.fetchone()
    return _part(row) if row else None


async def waiting_group(conn: aiosqlite.Connection, *, line: str, sender: str, ref: int, total: int) -> list[Part]:
    """Parts of one long message still waiting for the rest, oldest first."""
    async with conn.execute(
        "SELECT * FROM inbound_parts WHERE line = ? AND sender = ? AND concat_ref = ? AND concat_total = ?"
        " AND message_id IS NULL ORDER BY id", (line, sender, ref, total),
    ) as cur:
        return [_part(r) for r in await cur.fetchall()]


async def stale_groups(conn: aiosqlite.Connection, *, older_than: datetime) -> list[tuple[str, str, int, int]]:
    """(line, sender, ref, total) of waiting groups whose first part came before `older_than`."""
    async with conn.execute(
        "SELECT line, sender, concat_ref, concat_total FROM inbound_parts WHERE message_id IS NULL"
        " AND concat_ref IS NOT NULL GROUP BY line, sender, concat_ref, concat_total"
        " HAVING MIN(received_at) < ?", (utc_iso(older_than),),
    ) as cur:
        return [(r[0], r[1], r[2], r[3]) for r in await cur.fetchall()]


async def attach_parts(conn: aiosqlite.Connection, part_ids: list[int], message_id: int) -> None:
    await conn.executemany("UPDATE inbound_parts SET message_id = ? WHERE id = ?",
                           [(message_id, pid) for pid in part_ids])


async def parts_of(conn: aiosqlite.Connection, message_id: int) -> list[Part]:
    async with conn.execute("SELECT * FROM inbound_parts WHERE message_id = ? ORDER BY concat_seq, id",
                            (message_id,)) as cur:
        return [_part(r) for r in await cur.fetchall()]


# -- messages -----------------------------------------------------------------------------------

async def add_message(conn: aiosqlite.Connection, *, thread_id: int | None, line: str, sender: str, text: str,
                      smsc_time: datetime | None, received_at: datetime, parts_total: int = 1,
                      parts_missing: tuple[int, ...] = (), concat_ref: int | None = None,
                      undecodable: str | None = None) -> int:
    """Insert one whole message; its id."""
    cur = await conn.execute(
        "INSERT INTO inbound_messages (thread_id, line, sender, text, smsc_time, received_at, parts_total,"
        " parts_missing, concat_ref, undecodable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (thread_id, line, sender, text, utc_iso(smsc_time), utc_iso(received_at), parts_total,
         ",".join(map(str, parts_missing)) or None, concat_ref, undecodable),
    )
    return int(cur.lastrowid or 0)


async def incomplete_waiting_for(conn: aiosqlite.Connection, *, line: str, sender: str, ref: int, total: int,
                                 seq: int) -> InboundMessage | None:
    """The newest message kept incomplete that still lacks part `seq` of this long message."""
    async with conn.execute(
        "SELECT * FROM inbound_messages WHERE line = ? AND sender = ? AND concat_ref = ?"
        " AND parts_missing IS NOT NULL AND parts_total = ? ORDER BY id DESC LIMIT 5",
        (line, sender, ref, total),
    ) as cur:
        for row in await cur.fetchall():
            message = _message(row)
            if seq in message.parts_missing:
                return message
    return None


async def complete_more(conn: aiosqlite.Connection, message_id: int, *, text: str,
                        parts_missing: tuple[int, ...]) -> None:
    """A late part arrived: new text and what is still missing."""
    await conn.execute("UPDATE inbound_messages SET text = ?, parts_missing = ? WHERE id = ?",
                       (text, ",".join(map(str, parts_missing)) or None, message_id))


async def set_intent(conn: aiosqlite.Connection, message_id: int, intent: str) -> None:
    await conn.execute("UPDATE inbound_messages SET intent = ? WHERE id = ?", (intent, message_id))


async def get_in(conn: aiosqlite.Connection, message_id: int) -> InboundMessage | None:
    async with conn.execute("SELECT * FROM inbound_messages WHERE id = ?", (message_id,)) as cur:
        row = await cur.fetchone()
    return _message(row) if row else None


async def get(db: Database, message_id: int) -> InboundMessage | None:
    async with db.read() as conn:
        return await get_in(conn, message_id)


async def since(db: Database, *, after_id: int = 0, received_from: datetime | None = None,
                limit: int = 100, sender: str | None = None) -> list[InboundMessage]:
    """Messages oldest first: id > after_id and, if given, received at or after `received_from`
    and from `sender` (its threads, one per line, lead to its messages by their index)."""
    async with db.read() as conn:
        start = after_id
        if received_from is not None:
            # One index probe finds the first message received at/after the time; then walk ids
            # (keyset). Ids follow arrival order, so later ids are later messages.
            async with conn.execute(
                "SELECT id FROM inbound_messages WHERE received_at >= ? ORDER BY received_at, id LIMIT 1",
                (utc_iso(received_from),),
            ) as cur:
                row = await cur.fetchone()
            first = row[0] if row and row[0] is not None else None
            if first is None:
                return []
            start = max(start, first - 1)
        if sender is not None:
            sql = ("SELECT * FROM inbound_messages WHERE thread_id IN (SELECT id FROM threads WHERE number = ?)"
                   " AND id > ? ORDER BY id LIMIT ?")
            args: tuple[object, ...] = (sender, start, limit)
        else:
            sql, args = "SELECT * FROM inbound_messages WHERE id > ? ORDER BY id LIMIT ?", (start, limit)
        async with conn.execute(sql, args) as cur:
            return [_message(r) for r in await cur.fetchall()]


async def of_thread(db: Database, thread_id: int, *, limit: int = 50,
                    before: tuple[str, int] | None = None) -> list[InboundMessage]:
    """A thread's inbound messages, newest first (keyset on (received_at, id))."""
    sql = "SELECT * FROM inbound_messages WHERE thread_id = ?"
    args: list[object] = [thread_id]
    if before is not None:
        sql += " AND (received_at < ? OR (received_at = ? AND id < ?))"
        args += [before[0], before[0], before[1]]
    sql += " ORDER BY received_at DESC, id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn, conn.execute(sql, args) as cur:
        return [_message(r) for r in await cur.fetchall()]


async def search(db: Database, fts: str, *, limit: int = 50, before_id: int | None = None) -> list[InboundMessage]:
    """Messages whose text matches the FTS5 query `fts`, newest first (keyset on id)."""
    async with db.read() as conn, conn.execute(
        "SELECT m.* FROM inbound_fts f JOIN inbound_messages m ON m.id = f.rowid"
        " WHERE inbound_fts MATCH ? AND f.rowid < ? ORDER BY f.rowid DESC LIMIT ?",
        (fts, before_id or 2**62, limit),
    ) as cur:
        return [_message(r) for r in await cur.fetchall()]


async def undecodable_parts(db: Database, *, limit: int = 100) -> list[Part]:
    """Raw parts that could not be decoded, newest first (for the console and audits)."""
    async with db.read() as conn, conn.execute(
        "SELECT * FROM inbound_parts WHERE undecodable IS NOT NULL ORDER BY id DESC LIMIT ?", (limit,)
    ) as cur:
        return [_part(r) for r in await cur.fetchall()]

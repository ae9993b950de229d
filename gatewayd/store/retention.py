"""Retention purges, one bounded batch per call (the caller runs each in its own write transaction).

Rows are never deleted from messages, inbound_messages, calls or opt_out_events: texts are blanked,
so counts, states and the opt-out history survive forever. Walks follow the primary key
(`after_id` → the next batch's start), since ids grow with creation time, so a batch never rescans
what earlier batches already visited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import utc_iso

# States after which a message's text is never needed to send it again.
FINAL_STATES = ("sent", "delivered", "failed", "expired", "blocked", "canceled", "unknown")
_FINAL = ", ".join(f"'{s}'" for s in FINAL_STATES)


@dataclass(frozen=True)
class Batch:
    """One batch's result: rows changed, where the next batch starts, and whether the walk is over."""

    changed: int
    next_after_id: int
    done: bool


async def _walk(conn: aiosqlite.Connection, table: str, stamp: str, after_id: int, limit: int,
                cutoff: str) -> tuple[int, bool]:
    """The last id of the next `limit` rows after `after_id`, and whether the walk may stop there."""
    rows = list(await conn.execute_fetchall(
        f"SELECT id, {stamp} FROM {table} WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)))
    if not rows:
        return after_id, True
    last_id, last_stamp = int(rows[-1][0]), str(rows[-1][1])
    # Past the cutoff (ids follow time) or at the table's end: later rows are all too recent.
    return last_id, len(rows) < limit or last_stamp >= cutoff


async def blank_message_texts(conn: aiosqlite.Connection, before: datetime, after_id: int, limit: int) -> Batch:
    """Blank the texts of outbound messages created and finished before `before` (ids after `after_id`)."""
    cutoff = utc_iso(before)
    assert cutoff is not None
    last_id, done = await _walk(conn, "messages", "created_at", after_id, limit, cutoff)
    cur = await conn.execute(
        f"UPDATE messages SET text = '' WHERE id > ? AND id <= ? AND text != '' AND created_at < ? "
        f"AND state IN ({_FINAL}) AND COALESCE(finished_at, updated_at) < ?",
        (after_id, last_id, cutoff, cutoff))
    return Batch(cur.rowcount, last_id, done)


async def blank_inbound_texts(conn: aiosqlite.Connection, before: datetime, after_id: int, limit: int) -> Batch:
    """Blank inbound SMS texts received before `before`, and the raw parts they were built from."""
    cutoff = utc_iso(before)
    assert cutoff is not None
    last_id, done = await _walk(conn, "inbound_messages", "received_at", after_id, limit, cutoff)
    # The FTS index follows through the table's UPDATE trigger.
    cur = await conn.execute(
        "UPDATE inbound_messages SET text = '' WHERE id > ? AND id <= ? AND text != '' AND received_at < ?",
        (after_id, last_id, cutoff))
    await conn.execute(
        "UPDATE inbound_parts SET text = '', pdu = '' WHERE message_id > ? AND message_id <= ? "
        "AND received_at < ? AND (text != '' OR pdu != '')",
        (after_id, last_id, cutoff))
    return Batch(cur.rowcount, last_id, done)


async def blank_thread_previews(conn: aiosqlite.Connection, before: datetime, limit: int) -> int:
    """Blank the last-message preview of threads quiet since before `before`; rows changed."""
    cur = await conn.execute(
        "UPDATE threads SET last_text = '' WHERE id IN ("
        "SELECT id FROM threads WHERE last_at < ? AND last_text != '' LIMIT ?)",
        (utc_iso(before), limit))
    return cur.rowcount


async def delete_webhook_log(conn: aiosqlite.Connection, before: datetime, limit: int) -> int:
    """Delete finished webhook deliveries (their attempts cascade) finished before `before`; rows deleted."""
    cur = await conn.execute(
        "DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries "
        "WHERE state != 'pending' AND finished_at < ? ORDER BY id LIMIT ?)",
        (utc_iso(before), limit))
    return cur.rowcount


async def delete_webhook_events(conn: aiosqlite.Connection, before: datetime, limit: int) -> int:
    """Delete events created before `before` that no delivery refers to any more; rows deleted."""
    cur = await conn.execute(
        "DELETE FROM webhook_events WHERE id IN (SELECT e.id FROM webhook_events e WHERE e.created_at < ? "
        "AND e.id NOT IN (SELECT event_id FROM webhook_deliveries) ORDER BY e.id LIMIT ?)",
        (utc_iso(before), limit))
    return cur.rowcount


@dataclass(frozen=True)
class Footprint:
    """What retention keeps and blanks, for tests and the diagnostics bundle."""

    messages: int
    messages_with_text: int
    inbound: int
    inbound_with_text: int
    opt_out_events: int
    webhook_deliveries: int
    webhook_events: int


async def footprint(conn: aiosqlite.Connection) -> Footprint:
    """Row counts and how many rows still hold a text."""
    rows = list(await conn.execute_fetchall(
        "SELECT (SELECT COUNT(*) FROM messages), (SELECT COUNT(*) FROM messages WHERE text != ''), "
        "(SELECT COUNT(*) FROM inbound_messages), (SELECT COUNT(*) FROM inbound_messages WHERE text != ''), "
        "(SELECT COUNT(*) FROM opt_out_events), (SELECT COUNT(*) FROM webhook_deliveries), "
        "(SELECT COUNT(*) FROM webhook_events)"))
    return Footprint(*(int(v) for v in rows[0]))

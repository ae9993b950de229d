"""Read-only queries the console needs beyond what the owning stores offer: dashboard counts,
a bounded search of sent messages, and the received list newest first.

Everything here is built to stay fast with millions of rows: counts walk index ranges only, and
a text search scans at most `window` message ids per page, returning where it stopped so the
next page continues from there (the page says how far back it looked).
"""

from __future__ import annotations

import json

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import utc_iso
from gatewayd.store.inbound import InboundMessage
from gatewayd.store.inbound import _message as inbound_message
from gatewayd.problems import Problem
from gatewayd.store.messages import MessageRow, message_from_row, of_conversation_after
from gatewayd.store.threads import Thread


async def part_lines(conn: aiosqlite.Connection) -> list[str]:
    """Every line that ever sent a part, by index seeks (one per line, not a scan)."""
    sql = ("WITH RECURSIVE l(x) AS (SELECT MIN(line) FROM message_parts"
           " UNION ALL SELECT (SELECT MIN(line) FROM message_parts WHERE line > x) FROM l WHERE x IS NOT NULL)"
           " SELECT x FROM l WHERE x IS NOT NULL")
    async with conn.execute(sql) as cur:
        return [r[0] for r in await cur.fetchall()]


async def parts_sent_between(conn: aiosqlite.Connection, lines: Sequence[str], start: datetime,
                             end: datetime) -> int:
    """SMS (parts) handed to the network in [start, end) over `lines` (index range per line)."""
    total = 0
    for line in lines:
        async with conn.execute(
            "SELECT COUNT(*) FROM message_parts WHERE line = ? AND sent_at >= ? AND sent_at < ?",
            (line, utc_iso(start), utc_iso(end)),
        ) as cur:
            row = await cur.fetchone()
        total += int(row[0]) if row else 0
    return total


async def received_between(conn: aiosqlite.Connection, start: datetime, end: datetime) -> int:
    async with conn.execute(
        "SELECT COUNT(*) FROM inbound_messages WHERE received_at >= ? AND received_at < ?",
        (utc_iso(start), utc_iso(end)),
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def state_count(conn: aiosqlite.Connection, state: str) -> int:
    """Messages in one state (a range of the (state, id) index)."""
    async with conn.execute("SELECT COUNT(*) FROM messages WHERE state = ?", (state,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


# Tables whose ids follow their creation time (rows are only ever appended, stamped with the clock).
_STAMPED = {"messages": "created_at", "opt_out_events": "created_at"}


async def first_id_since(conn: aiosqlite.Connection, table: str, since: datetime) -> int | None:
    """The first id of `table` created at or after `since`, by a binary search on the rowid (the
    creation time has no index: it would tax every insert): ~20 point reads on millions of rows,
    in one statement (one round trip to the database thread, not one per step)."""
    column = _STAMPED[table]
    probe = f"(SELECT {column} FROM {table} WHERE id >= (lo + hi) / 2 ORDER BY id LIMIT 1)"
    sql = (f"WITH RECURSIVE b(lo, hi) AS (SELECT (SELECT MIN(id) FROM {table}), (SELECT MAX(id) FROM {table}) + 1"
           f" UNION ALL SELECT CASE WHEN {probe} >= :stamp THEN lo ELSE (lo + hi) / 2 + 1 END,"
           f" CASE WHEN {probe} >= :stamp THEN (lo + hi) / 2 ELSE hi END FROM b WHERE lo < hi)"
           f" SELECT (SELECT id FROM {table} WHERE id >= b.lo ORDER BY id LIMIT 1) FROM b WHERE b.lo >= b.hi")
    async with conn.execute(sql, {"stamp": utc_iso(since)}) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row and row[0] is not None else None


async def failed_since_id(conn: aiosqlite.Connection, first_id: int) -> int:
    """Messages from `first_id` on that failed (a range of the (state, id) index)."""
    async with conn.execute("SELECT COUNT(*) FROM messages WHERE state = 'failed' AND id >= ?", (first_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def opt_outs_since_id(conn: aiosqlite.Connection, first_id: int) -> int:
    """Numbers that opted out in events from `first_id` on."""
    async with conn.execute(
        "SELECT COUNT(DISTINCT number) FROM opt_out_events WHERE id >= ? AND action = 'out'", (first_id,)
    ) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def latest_sent(conn: aiosqlite.Connection, limit: int = 5) -> list[MessageRow]:
    async with conn.execute("SELECT * FROM messages ORDER BY id DESC LIMIT ?", (limit,)) as cur:
        return [message_from_row(r) for r in await cur.fetchall()]


@dataclass(frozen=True)
class SentPage:
    """One page of a sent-message search, and the id the scan reached (continue below it)."""

    rows: list[MessageRow]
    scanned_to: int | None     # lowest id examined when the window ended the page; None when exhausted
    complete: bool             # True when every matching message down to the oldest was examined


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _sent_filters(where: list[str], args: list[object], *, state: str | None, to: str | None,
                  to_prefix: str | None, text: str | None) -> None:
    """The Sent page's filters as SQL conditions (recipient exact or prefix, state, words)."""
    if to is not None:
        where.append("to_number = ?")
        args.append(to)
    elif to_prefix is not None:
        where.append("to_number >= ? AND to_number < ?")
        args += [to_prefix, to_prefix + "\uffff"]
    if state is not None:
        where.append("state = ?")
        args.append(state)
    if text is not None:
        where.append("text LIKE ? ESCAPE '\\'")
        args.append(_like(text))


async def search_sent(conn: aiosqlite.Connection, *, text: str | None = None, to: str | None = None,
                      to_prefix: str | None = None, state: str | None = None, before_id: int | None = None,
                      limit: int = 50, window: int = 50_000) -> SentPage:
    """Sent messages newest first, filtered by recipient (exact or prefix), text and state.

    An exact recipient or a state alone walks its index. Text or a number prefix cannot use an
    index: the scan covers at most `window` ids below `before_id`, and the page tells where it
    stopped so the caller can offer to look further back."""
    top = before_id if before_id is not None else 2**62
    bounded = text is not None or (to_prefix is not None and to is None)
    floor = None
    if bounded and before_id is None:
        async with conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM messages") as cur:
            row = await cur.fetchone()
        top = int(row[0]) if row else 1
    where: list[str] = ["id < ?"]
    args: list[object] = [top]
    if bounded:
        floor = max(0, top - window)
        where.append("id >= ?")
        args.append(floor)
    _sent_filters(where, args, state=state, to=to, to_prefix=to_prefix, text=text)
    sql = f"SELECT * FROM messages WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with conn.execute(sql, args) as cur:
        rows = [message_from_row(r) for r in await cur.fetchall()]
    if not bounded:
        return SentPage(rows, None, len(rows) < limit)
    if len(rows) == limit:
        return SentPage(rows, None, False)
    # The window ran out before the page filled: continue below it, unless it reached id 0.
    return SentPage(rows, floor if floor else None, not floor)


async def inbound_newest(conn: aiosqlite.Connection, *, before_id: int | None = None, limit: int = 50,
                         line: str | None = None) -> list[InboundMessage]:
    """Received messages newest first (keyset on id)."""
    sql = "SELECT * FROM inbound_messages WHERE id < ?"
    args: list[object] = [before_id or 2**62]
    if line:
        sql += " AND line = ?"
        args.append(line)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with conn.execute(sql, args) as cur:
        return [inbound_message(r) for r in await cur.fetchall()]


async def inbound_from_numbers(conn: aiosqlite.Connection, prefixes: Sequence[str], *, before_id: int | None = None,
                               limit: int = 50) -> list[InboundMessage]:
    """Received messages newest first from senders whose number starts with one of `prefixes`
    (a whole number is its own prefix): the threads' (number, line) index finds the senders, each
    thread's (thread_id, id) index their messages."""
    if not prefixes:
        return []
    ranges = " OR ".join("(number >= ? AND number < ?)" for _ in prefixes)
    args: list[object] = [bound for p in prefixes for bound in (p, p + "\uffff")]
    args += [before_id or 2**62, limit]
    async with conn.execute(
        f"SELECT * FROM inbound_messages WHERE thread_id IN (SELECT id FROM threads WHERE {ranges})"
        " AND id < ? ORDER BY id DESC LIMIT ?", args,
    ) as cur:
        return [inbound_message(r) for r in await cur.fetchall()]


async def inbound_after(conn: aiosqlite.Connection, thread_id: int, after_id: int) -> list[InboundMessage]:
    """A thread's messages received after `after_id`, oldest first (what a live page appends)."""
    async with conn.execute(
        "SELECT * FROM inbound_messages WHERE thread_id = ? AND id > ? ORDER BY id LIMIT 100", (thread_id, after_id)
    ) as cur:
        return [inbound_message(r) for r in await cur.fetchall()]


async def outbound_after(conn: aiosqlite.Connection, thread: Thread, after_id: int) -> list[MessageRow]:
    """Messages of the thread's conversation sent after `after_id`, oldest first."""
    return await of_conversation_after(conn, number=thread.number, line=thread.line, thread_id=thread.id,
                                       after_id=after_id)


async def states_of(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, str]:
    """Current state of some messages (a live page refreshes the badges it shows)."""
    out: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start:start + 500])
        async with conn.execute(
            f"SELECT id, state FROM messages WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ) as cur:
            out.update({r[0]: r[1] for r in await cur.fetchall()})
    return out


# --- exports of a period (oldest first, a page at a time) ----------------------------------------

@dataclass(frozen=True)
class ExportedMessage:
    """What a Sent export shows of a message (times as stored: UTC RFC 3339 text)."""

    id: int
    created_at: str
    to: str
    text: str
    state: str
    category: str
    source: str
    created_by: str | None
    campaign_id: int | None
    line: str | None
    segments: int
    sent_at: str | None
    delivered_at: str | None
    error: str | None
    error_key: str | None = None
    error_params_json: str | None = None

    @property
    def error_params(self) -> dict[str, object] | None:
        return json.loads(self.error_params_json) if self.error_params_json else None

    @property
    def reason(self) -> Problem | None:
        return Problem(self.error_key, "", self.error_params or {}) if self.error_key else None


async def sent_in_period(conn: aiosqlite.Connection, *, since: datetime, until: datetime, after_id: int,
                         limit: int, state: str | None = None, to: str | None = None, to_prefix: str | None = None,
                         text: str | None = None) -> list[ExportedMessage]:
    """Messages accepted in [since, until) with id above `after_id`, oldest first, with the Sent
    page's filters. created_at has no index (it would tax every insert): an export walks the
    ledger once in id order, each page starting where the previous one stopped. Only the exported
    columns are read, as they are stored: an export is hundreds of thousands of rows."""
    where = ["id > ?", "created_at >= ?", "created_at < ?"]
    args: list[object] = [after_id, utc_iso(since), utc_iso(until)]
    _sent_filters(where, args, state=state, to=to, to_prefix=to_prefix, text=text)
    args.append(limit)
    sql = ("SELECT id, created_at, to_number, text, state, category, source, created_by, campaign_id, sent_line, segments,"
           f" sent_at, delivered_at, error, error_key, error_params FROM messages WHERE {' AND '.join(where)} ORDER BY id LIMIT ?")
    async with conn.execute(sql, args) as cur:
        return [ExportedMessage(*r) for r in await cur.fetchall()]


async def received_in_period(conn: aiosqlite.Connection, *, since: datetime, until: datetime,
                             after: tuple[datetime, int] | None, limit: int) -> list[InboundMessage]:
    """Received messages in [since, until) in arrival order, after (received_at, id) `after`."""
    sql = "SELECT * FROM inbound_messages WHERE received_at >= ? AND received_at < ?"
    args: list[object] = [utc_iso(since), utc_iso(until)]
    if after is not None:
        sql += " AND (received_at, id) > (?, ?)"
        args += [utc_iso(after[0]), after[1]]
    sql += " ORDER BY received_at, id LIMIT ?"
    args.append(limit)
    async with conn.execute(sql, args) as cur:
        return [inbound_message(r) for r in await cur.fetchall()]

"""Read-only counts for GET /metrics, gathered on one reader connection at scrape time.

Each query is either an index-only count or a GROUP BY over an index, so a scrape stays cheap on
a database of a million messages (message bodies are never read).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite


@dataclass(frozen=True)
class LineSends:
    """Parts handed to one line, by part state (sent, delivered, failed)."""

    line: str
    state: str
    count: int


@dataclass(frozen=True)
class MetricsSnapshot:
    """Everything the metrics collector reports from the database."""

    messages_by_state: dict[str, int]
    queue_depth: int          # queued and due now or later (the dispatcher's backlog)
    scheduled: int
    retries: int              # transient failures recorded on messages (sum of attempts)
    parts_by_line: tuple[LineSends, ...]
    inbound: int
    opt_outs_current: int
    opt_out_events: dict[str, int]   # action ('out' | 'in') -> events in the history
    calls: int
    webhook_backlog: int             # deliveries still pending
    webhook_deliveries: dict[str, int]


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = await conn.execute_fetchall(sql)
    value = list(rows)[0][0]
    return int(value or 0)


async def _pairs(conn: aiosqlite.Connection, sql: str) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in await conn.execute_fetchall(sql)}


async def snapshot(conn: aiosqlite.Connection) -> MetricsSnapshot:
    """Current counts from the reader connection (committed data only)."""
    by_state = await _pairs(conn, "SELECT state, COUNT(*) FROM messages GROUP BY state")
    parts = tuple(
        LineSends(str(r[0]), str(r[1]), int(r[2]))
        for r in await conn.execute_fetchall(
            "SELECT line, state, COUNT(*) FROM message_parts GROUP BY line, state ORDER BY line, state")
    )
    return MetricsSnapshot(
        messages_by_state=by_state,
        queue_depth=by_state.get("queued", 0),
        scheduled=by_state.get("scheduled", 0),
        retries=await _scalar(conn, "SELECT SUM(attempts) FROM messages WHERE attempts > 0"),
        parts_by_line=parts,
        inbound=await _scalar(conn, "SELECT COUNT(*) FROM inbound_messages"),
        opt_outs_current=await _scalar(conn, "SELECT COUNT(*) FROM opt_outs_current"),
        opt_out_events=await _pairs(conn, "SELECT action, COUNT(*) FROM opt_out_events GROUP BY action"),
        calls=await _scalar(conn, "SELECT COUNT(*) FROM calls"),
        webhook_backlog=await _scalar(conn, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"),
        webhook_deliveries=await _pairs(conn, "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state"),
    )

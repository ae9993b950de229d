"""Read-only counts for GET /metrics, gathered on one reader connection at scrape time.

Totals are read from `counters` and the messages-by-state gauge from `message_state_counts`, both
kept by triggers (migrations 0017, 0019, 0021): a scrape reads a few dozen rows whatever the size of
the ledger, inbound SMS, calls or opt-out history. Only small tables are counted (current opt-outs,
webhook deliveries, which retention purges).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    failures_by_cause: dict[str, int] = field(default_factory=dict)  # message failures by error code
    webhook_failures: dict[str, int] = field(default_factory=dict)   # failed attempts: no_answer | http_error


async def _scalar(conn: aiosqlite.Connection, sql: str) -> int:
    rows = await conn.execute_fetchall(sql)
    value = list(rows)[0][0]
    return int(value or 0)


async def _pairs(conn: aiosqlite.Connection, sql: str) -> dict[str, int]:
    return {str(r[0]): int(r[1]) for r in await conn.execute_fetchall(sql)}


async def snapshot(conn: aiosqlite.Connection) -> MetricsSnapshot:
    """Current counts from the reader connection (committed data only)."""
    # Kept by triggers (migration 0019): a dozen rows, not a GROUP BY over the whole ledger.
    by_state = await _pairs(conn, "SELECT state, count FROM message_state_counts WHERE count != 0")
    counters: dict[str, dict[str, int]] = {}
    for name, label, value in await conn.execute_fetchall("SELECT name, label, value FROM counters ORDER BY name, label"):
        counters.setdefault(str(name), {})[str(label)] = int(value)
    parts = tuple(LineSends(line, state, counters.get(f"parts_{state}", {}).get(line, 0))
                  for line in sorted(counters.get("parts_sent", {})) for state in ("sent", "delivered", "failed"))
    return MetricsSnapshot(
        messages_by_state=by_state,
        queue_depth=by_state.get("queued", 0),
        scheduled=by_state.get("scheduled", 0),
        retries=sum(counters.get("send_retries", {}).values()),
        parts_by_line=parts,
        inbound=counters.get("inbound_received", {}).get("", 0),
        opt_outs_current=await _scalar(conn, "SELECT COUNT(*) FROM opt_outs_current"),
        opt_out_events=counters.get("opt_out_events", {}),
        calls=counters.get("calls_logged", {}).get("", 0),
        webhook_backlog=await _scalar(conn, "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'"),
        webhook_deliveries=await _pairs(conn, "SELECT state, COUNT(*) FROM webhook_deliveries GROUP BY state"),
        failures_by_cause=counters.get("message_failures", {}),
        webhook_failures=counters.get("webhook_failures", {}),
    )

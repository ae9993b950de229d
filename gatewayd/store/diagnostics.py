"""Read-only facts for the diagnostics bundle: database file and schema, recent failures, webhook health.

Every query is bounded (LIMIT on an index, or a GROUP BY over small tables), so building a bundle
stays cheap on a box holding a million messages. Phone numbers and texts are returned as stored;
the caller (gatewayd.ops.diagnostics) masks numbers and never includes message texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiosqlite

ERROR_LOOKBACK = 5000  # deliveries per endpoint searched for the latest failure

@dataclass(frozen=True)
class DatabaseFacts:
    """Size and shape of the SQLite file."""

    path: str
    file_bytes: int
    wal_bytes: int
    shm_bytes: int
    page_size: int
    page_count: int
    freelist_count: int
    schema_version: int
    journal_mode: str


@dataclass(frozen=True)
class FailedMessage:
    """One outbound message that ended in `failed`: why, on which line, when."""

    id: int
    to_number: str
    line: str | None
    source: str
    attempts: int
    error_code: int | None
    error: str | None
    failed_at: str | None


@dataclass(frozen=True)
class WebhookHealth:
    """One webhook endpoint's delivery counts and its latest failure (the signing secret is never read)."""

    id: int
    url: str
    enabled: bool
    events: str
    pending: int
    failed: int
    delivered: int
    last_error: str | None
    last_error_at: str | None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # -wal/-shm come and go with checkpoints and connections
        return 0


async def _pragma(conn: aiosqlite.Connection, name: str) -> int | str:
    rows = list(await conn.execute_fetchall(f"PRAGMA {name}"))
    return rows[0][0] if rows else 0


async def database_facts(conn: aiosqlite.Connection, path: Path) -> DatabaseFacts:
    """File sizes (main, -wal, -shm) and page/schema pragmas of the database at `path`."""
    return DatabaseFacts(
        path=str(path),
        file_bytes=_size(path),
        wal_bytes=_size(path.with_name(path.name + "-wal")),
        shm_bytes=_size(path.with_name(path.name + "-shm")),
        page_size=int(await _pragma(conn, "page_size")),
        page_count=int(await _pragma(conn, "page_count")),
        freelist_count=int(await _pragma(conn, "freelist_count")),
        schema_version=int(await _pragma(conn, "user_version")),
        journal_mode=str(await _pragma(conn, "journal_mode")),
    )


async def recent_failed_messages(conn: aiosqlite.Connection, limit: int = 20) -> list[FailedMessage]:
    """The latest `limit` failed messages, newest first (walks the (state, id) index backwards)."""
    rows = await conn.execute_fetchall(
        "SELECT id, to_number, COALESCE(sent_line, line) AS line, source, attempts, error_code, error, "
        "COALESCE(finished_at, updated_at) AS failed_at FROM messages WHERE state = 'failed' "
        "ORDER BY id DESC LIMIT ?", (limit,))
    return [FailedMessage(int(r[0]), str(r[1]), r[2], str(r[3]), int(r[4]), None if r[5] is None else int(r[5]),
                          r[6], r[7]) for r in rows]


async def webhook_health(conn: aiosqlite.Connection) -> list[WebhookHealth]:
    """Every endpoint with its deliveries by state and its most recent failed delivery."""
    counts: dict[tuple[int, str], int] = {
        (int(r[0]), str(r[1])): int(r[2])
        for r in await conn.execute_fetchall(
            "SELECT endpoint_id, state, COUNT(*) FROM webhook_deliveries GROUP BY endpoint_id, state")
    }
    out = []
    for r in await conn.execute_fetchall("SELECT id, url, enabled, events FROM webhook_endpoints ORDER BY id"):
        endpoint_id = int(r[0])
        last = list(await conn.execute_fetchall(
            # Only the latest deliveries are looked at, so a long error-free history is not walked.
            "SELECT last_error, COALESCE(finished_at, created_at) FROM (SELECT * FROM webhook_deliveries "
            "WHERE endpoint_id = ? ORDER BY id DESC LIMIT ?) WHERE last_error IS NOT NULL LIMIT 1",
            (endpoint_id, ERROR_LOOKBACK)))
        out.append(WebhookHealth(
            id=endpoint_id, url=str(r[1]), enabled=bool(r[2]), events=str(r[3]),
            pending=counts.get((endpoint_id, "pending"), 0), failed=counts.get((endpoint_id, "failed"), 0),
            delivered=counts.get((endpoint_id, "delivered"), 0),
            last_error=last[0][0] if last else None, last_error_at=last[0][1] if last else None))
    return out

"""Webhooks: endpoints, the persisted outbox (one delivery per event and endpoint) and the
attempt log. `enqueue_event` runs inside any write transaction, so an event commits with its cause."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database

EVENT_TYPES = ("message.sent", "message.delivered", "message.failed", "message.unknown", "inbound.received",
               "optout.created", "optout.removed", "call.received",
               # Alerts (gatewayd.alerts): the box in trouble, and back.
               "line.down", "line.up", "campaign.paused", "campaign.completed", "balance.low", "storage.full")

# An event is stored only when at least one enabled endpoint wants it, and fans out at once.
_EVENT_SQL = (
    "INSERT INTO webhook_events (type, payload, created_at, uid) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS ("
    "SELECT 1 FROM webhook_endpoints WHERE enabled = 1 AND (events = '*' OR instr(' ' || events || ' ', ' ' || ?1 || ' ') > 0))"
)
_FANOUT_SQL = (
    "INSERT INTO webhook_deliveries (event_id, endpoint_id, state, next_at, created_at) "
    "SELECT ?3, id, 'pending', ?2, ?2 FROM webhook_endpoints "
    "WHERE enabled = 1 AND (events = '*' OR instr(' ' || events || ' ', ' ' || ?1 || ' ') > 0)"
)


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    secret: str
    events: tuple[str, ...]     # ('*',) for every event
    description: str
    enabled: bool
    created_at: datetime
    updated_at: datetime
    format: str = "gatewayd"        # the envelope it receives: gatewayd's, or "android"
    external_id: str | None = None  # its id in the API that registered it (format != gatewayd)
    api_key_id: int | None = None   # the key that registered it there


@dataclass(frozen=True)
class DueDelivery:
    """A pending delivery with what is needed to send it."""

    id: int
    event_id: int
    event_type: str
    payload: str
    event_created_at: datetime
    endpoint_id: int
    url: str
    secret: str
    attempts: int
    format: str = "gatewayd"
    external_id: str | None = None
    event_uid: str = ""  # the event's `webhook-id`, the same on every retry


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: int
    event_type: str
    endpoint_id: int
    state: str
    attempts: int
    next_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    event_uid: str | None = None  # the event's webhook-id


@dataclass(frozen=True)
class AttemptRow:
    delivery_id: int
    attempt: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int


def _endpoint(r: sqlite3.Row) -> Endpoint:
    return Endpoint(r["id"], r["url"], r["secret"], tuple(r["events"].split()), r["description"],
                    bool(r["enabled"]), parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]),
                    r["format"], r["external_id"], r["api_key_id"])


# ------------------------------------------------------------------ the outbox (any writer)


def new_event_uid() -> str:
    """An event's `webhook-id`: random, so never reused (a rowid can come back after a purge or a restore)."""
    return "evt_" + uuid.uuid4().hex


async def enqueue_event(conn: aiosqlite.Connection, event_type: str, payload: dict[str, Any], now: datetime) -> None:
    """Queue `event_type` for every enabled endpoint subscribed to it (no-op when none is)."""
    await enqueue_events(conn, [(event_type, payload)], now)


async def enqueue_events(conn: aiosqlite.Connection, events: Sequence[tuple[str, dict[str, Any]]],
                         now: datetime) -> None:
    """Several events at once, in order, inside the caller's transaction."""
    if event_type_unknown := [t for t, _ in events if t not in EVENT_TYPES]:
        raise ValueError(f"unknown webhook event type {event_type_unknown[0]!r}")
    iso = utc_iso(now)
    for event_type, payload in events:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        cur = await conn.execute(_EVENT_SQL, (event_type, body, iso, new_event_uid()))
        if cur.rowcount == 1 and cur.lastrowid:
            await conn.execute(_FANOUT_SQL, (event_type, iso, cur.lastrowid))


async def any_subscriber(conn: aiosqlite.Connection) -> bool:
    """Whether any enabled endpoint exists (lets hot paths skip building payloads)."""
    async with conn.execute("SELECT 1 FROM webhook_endpoints WHERE enabled = 1 LIMIT 1") as cur:
        return await cur.fetchone() is not None


# ------------------------------------------------------------------ endpoints


async def create_endpoint(db: Database, *, url: str, secret: str, events: Sequence[str], description: str,
                          now: datetime, format: str = "gatewayd", external_id: str | None = None,
                          api_key_id: int | None = None) -> Endpoint:
    """A new endpoint; with `external_id`, replaces the one registered under that id (format, key)."""
    iso = utc_iso(now)
    async with db.write() as conn:
        if external_id is not None:
            await conn.execute("DELETE FROM webhook_endpoints WHERE format = ? AND api_key_id IS ? AND external_id = ?",
                               (format, api_key_id, external_id))
        cur = await conn.execute(
            "INSERT INTO webhook_endpoints (url, secret, events, description, enabled, created_at, updated_at, "
            "format, external_id, api_key_id) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
            (url, secret, " ".join(events), description, iso, iso, format, external_id, api_key_id))
        endpoint_id = int(cur.lastrowid or 0)
        async with conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)) as c:
            row = await c.fetchone()
    assert row is not None
    return _endpoint(row)


async def update_endpoint(db: Database, endpoint_id: int, now: datetime, **changes: Any) -> Endpoint | None:
    """Change url/events/description/enabled/secret; None when there is no such endpoint."""
    allowed = {"url", "events", "description", "enabled", "secret"}
    sets, args = [], []
    for key, value in changes.items():
        if key not in allowed or value is None:
            continue
        sets.append(f"{key} = ?")
        args.append(" ".join(value) if key == "events" else (int(value) if key == "enabled" else value))
    async with db.write() as conn:
        if sets:
            await conn.execute(f"UPDATE webhook_endpoints SET {', '.join(sets)}, updated_at = ? WHERE id = ?",
                               (*args, utc_iso(now), endpoint_id))
        async with conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)) as cur:
            row = await cur.fetchone()
    return _endpoint(row) if row else None


async def delete_endpoint(db: Database, endpoint_id: int) -> bool:
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM webhook_endpoints WHERE id = ?", (endpoint_id,))
        return cur.rowcount == 1


async def get_endpoint(db: Database, endpoint_id: int) -> Endpoint | None:
    async with db.read() as conn, conn.execute("SELECT * FROM webhook_endpoints WHERE id = ?", (endpoint_id,)) as cur:
        row = await cur.fetchone()
    return _endpoint(row) if row else None


async def list_endpoints(db: Database) -> list[Endpoint]:
    async with db.read() as conn, conn.execute("SELECT * FROM webhook_endpoints ORDER BY id") as cur:
        return [_endpoint(r) for r in await cur.fetchall()]


async def external_endpoints(db: Database, format: str, api_key_id: int) -> list[Endpoint]:
    """The endpoints a key registered through another API (`format`), oldest first."""
    async with db.read() as conn, conn.execute(
            "SELECT * FROM webhook_endpoints WHERE format = ? AND api_key_id = ? ORDER BY id",
            (format, api_key_id)) as cur:
        return [_endpoint(r) for r in await cur.fetchall()]


async def delete_external(db: Database, format: str, api_key_id: int, external_id: str) -> bool:
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM webhook_endpoints WHERE format = ? AND api_key_id = ? AND external_id = ?",
                                 (format, api_key_id, external_id))
        return cur.rowcount == 1


# ------------------------------------------------------------------ the sender's side


async def due_deliveries(db: Database, endpoint_id: int, now: datetime, *, limit: int,
                         exclude: Sequence[int] = ()) -> list[DueDelivery]:
    """One endpoint's pending deliveries whose time has come, oldest first (each endpoint is
    asked separately, so a slow endpoint's backlog never hides another's)."""
    skip = f" AND d.id NOT IN ({','.join('?' * len(exclude))})" if exclude else ""
    async with db.read() as conn, conn.execute(
        "SELECT d.id, d.event_id, e.type, e.payload, e.created_at, d.endpoint_id, p.url, p.secret, d.attempts, "
        "p.format, p.external_id, e.uid "
        "FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
        "JOIN webhook_endpoints p ON p.id = d.endpoint_id "
        f"WHERE d.state = 'pending' AND d.endpoint_id = ? AND d.next_at <= ?{skip} ORDER BY d.next_at, d.id LIMIT ?",
        (endpoint_id, utc_iso(now), *exclude, limit),
    ) as cur:
        rows = await cur.fetchall()
    return [DueDelivery(r[0], r[1], r[2], r[3], parse_iso_required(r[4]), r[5], r[6], r[7], r[8], r[9], r[10], r[11])
            for r in rows]


async def endpoints_with_pending(db: Database) -> list[int]:
    async with db.read() as conn, conn.execute(
        "SELECT DISTINCT endpoint_id FROM webhook_deliveries WHERE state = 'pending'"
    ) as cur:
        return [r[0] for r in await cur.fetchall()]


async def next_pending_at(db: Database) -> datetime | None:
    async with db.read() as conn, conn.execute(
        "SELECT MIN(next_at) FROM webhook_deliveries WHERE state = 'pending'"
    ) as cur:
        r = await cur.fetchone()
    return parse_iso(r[0]) if r and r[0] else None


async def record_attempt(db: Database, delivery_id: int, *, attempt: int, at: datetime, status: int | None,
                         error: str | None, duration_ms: int, state: str, next_at: datetime | None) -> None:
    """Log one attempt and move the delivery on (delivered, failed, or pending until next_at)."""
    iso = utc_iso(at)
    async with db.write() as conn:
        await conn.execute(
            "INSERT INTO webhook_attempts (delivery_id, attempt, at, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (delivery_id, attempt, iso, status, error, duration_ms))
        await conn.execute(
            "UPDATE webhook_deliveries SET attempts = ?, state = ?, next_at = COALESCE(?, next_at), last_status = ?, "
            "last_error = ?, finished_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END WHERE id = ?",
            (attempt, state, utc_iso(next_at), status, error, state, iso, delivery_id))


async def deliveries(db: Database, *, endpoint_id: int | None = None, limit: int = 100,
                     before_id: int | None = None) -> list[DeliveryRow]:
    """The delivery log, newest first (keyset pagination on id)."""
    sql = ("SELECT d.*, e.type, e.uid FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
           "WHERE d.id < ?")
    args: list[object] = [before_id or 2**62]
    if endpoint_id is not None:
        sql += " AND d.endpoint_id = ?"
        args.append(endpoint_id)
    sql += " ORDER BY d.id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn, conn.execute(sql, args) as cur:
        rows = await cur.fetchall()
    return [_delivery_row(r) for r in rows]


def _delivery_row(r: sqlite3.Row) -> DeliveryRow:
    """A webhook_deliveries row joined with its event's type and uid."""
    return DeliveryRow(r["id"], r["event_id"], r["type"], r["endpoint_id"], r["state"], r["attempts"],
                       parse_iso_required(r["next_at"]), r["last_status"], r["last_error"],
                       parse_iso_required(r["created_at"]), parse_iso(r["finished_at"]), r["uid"])


async def attempts(db: Database, delivery_id: int) -> list[AttemptRow]:
    async with db.read() as conn, conn.execute(
        "SELECT * FROM webhook_attempts WHERE delivery_id = ? ORDER BY id", (delivery_id,)
    ) as cur:
        return [AttemptRow(r["delivery_id"], r["attempt"], parse_iso_required(r["at"]), r["status"], r["error"],
                           r["duration_ms"]) for r in await cur.fetchall()]


# ------------------------------------------------------------------ test events and replays

async def enqueue_test(db: Database, endpoint_id: int, payload: dict[str, Any], now: datetime,
                       event_type: str) -> int | None:
    """A test event for one endpoint only (whatever it subscribes to); the new delivery's id, or
    None when the endpoint does not exist."""
    iso = utc_iso(now)
    async with db.write() as conn:
        async with conn.execute("SELECT 1 FROM webhook_endpoints WHERE id = ?", (endpoint_id,)) as cur:
            if await cur.fetchone() is None:
                return None
        cur = await conn.execute("INSERT INTO webhook_events (type, payload, created_at, uid) VALUES (?, ?, ?, ?)",
                                 (event_type, json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                                  iso, new_event_uid()))
        cur = await conn.execute("INSERT INTO webhook_deliveries (event_id, endpoint_id, state, next_at, created_at) "
                                 "VALUES (?, ?, 'pending', ?, ?)", (cur.lastrowid, endpoint_id, iso, iso))
        return cur.lastrowid


async def delivery(db: Database, delivery_id: int) -> DeliveryRow | None:
    async with db.read() as conn, conn.execute(
        "SELECT d.*, e.type, e.uid FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id "
        "WHERE d.id = ?", (delivery_id,)
    ) as cur:
        r = await cur.fetchone()
    return None if r is None else _delivery_row(r)


async def add_delivery(db: Database, event_id: int, endpoint_id: int, now: datetime) -> int:
    """A new delivery of a stored event to an endpoint, due now (a replay: the earlier one and its
    attempts stay in the log)."""
    iso = utc_iso(now)
    async with db.write() as conn:
        cur = await conn.execute("INSERT INTO webhook_deliveries (event_id, endpoint_id, state, next_at, created_at) "
                                 "VALUES (?, ?, 'pending', ?, ?)", (event_id, endpoint_id, iso, iso))
        assert cur.lastrowid is not None
        return cur.lastrowid

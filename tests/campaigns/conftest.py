"""Campaign tests: real SQLite file, real services, runner and scheduler; outbound's ledger stand-in.

OutboundStandIn keeps the outbound contract (submit inside the caller's transaction, blocked when
opted out, cancel only while queued) over a minimal `messages` table; it exists only until the
outbound engineer's OutboundService lands, then these tests run against the real one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from gatewayd.campaigns.runner import CampaignRunner
from gatewayd.campaigns.service import CampaignService
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.importer import ImportService
from gatewayd.errors import Conflict
from gatewayd.scheduler import Scheduler
from gatewayd.store import optouts
from gatewayd.store.db import Database

@dataclass(frozen=True)
class Msg:
    to: str
    text: str
    category: str
    line: str | None
    campaign_id: int
    campaign_recipient_id: int


@dataclass(frozen=True)
class Row:
    id: int
    state: str


class OutboundStandIn:
    """The outbound contract over a minimal ledger (see module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def ensure_table(self) -> None:
        """Outbound's 0002 table when it is there; its required columns otherwise."""
        async with self.db.write() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, to_number TEXT NOT NULL,"
                " text TEXT NOT NULL, category TEXT NOT NULL, state TEXT NOT NULL, priority INTEGER NOT NULL,"
                " source TEXT NOT NULL, line TEXT, segments INTEGER NOT NULL, encoding TEXT NOT NULL,"
                " concat_ref INTEGER NOT NULL, due_at TEXT NOT NULL, campaign_id INTEGER,"
                " campaign_recipient_id INTEGER, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)")

    async def submit(self, messages: list[Msg], *, conn: aiosqlite.Connection | None = None) -> list[Row]:
        assert conn is not None, "campaigns always submit inside their own transaction"
        blocked = await optouts.opted_out_among(conn, [m.to for m in messages])
        rows = []
        for m in messages:
            state = "blocked" if m.to in blocked and m.category == "marketing" else "queued"
            cur = await conn.execute(
                "INSERT INTO messages (to_number, text, category, state, priority, source, line, segments, encoding,"
                " concat_ref, due_at, campaign_id, campaign_recipient_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, 10, 'campaign', ?, 1, 'GSM-7', 0, 'now', ?, ?, 'now', 'now')",
                (m.to, m.text, m.category, state, m.line, m.campaign_id, m.campaign_recipient_id))
            rows.append(Row(int(cur.lastrowid or 0), state))
        return rows

    async def cancel(self, message_id: int) -> None:
        async with self.db.write() as conn:
            cur = await conn.execute("UPDATE messages SET state = 'canceled' WHERE id = ? AND state = 'queued'",
                                     (message_id,))
            if cur.rowcount != 1:
                raise Conflict(f"message {message_id} is no longer queued")

    async def finish(self, count: int, state: str = "delivered") -> list[int]:
        """The dispatcher's part: the oldest `count` queued messages reach `state`."""
        async with self.db.write() as conn:
            async with conn.execute("SELECT id FROM messages WHERE state = 'queued' ORDER BY id LIMIT ?",
                                    (count,)) as cur:
                ids = [r[0] for r in await cur.fetchall()]
            await conn.executemany("UPDATE messages SET state = ? WHERE id = ?", [(state, i) for i in ids])
        return ids

    async def all(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn, conn.execute("SELECT * FROM messages ORDER BY id") as cur:
            return [dict(r) for r in await cur.fetchall()]


@dataclass
class World:
    db: Database
    settings: Settings
    clock: FakeClock
    imports: ImportService
    service: CampaignService
    runner: CampaignRunner
    outbound: OutboundStandIn
    scheduler: Scheduler


async def open_world(settings: Settings, clock: FakeClock) -> World:
    db = Database(settings.storage.database)
    await db.open()
    outbound = OutboundStandIn(db)
    await outbound.ensure_table()
    imports = ImportService(db, settings, clock)
    service = CampaignService(db, settings, clock, imports)
    scheduler = Scheduler(clock)
    scheduler.start()
    service.scheduler = scheduler
    runner = CampaignRunner(service, outbound, message_factory=Msg)
    return World(db, settings, clock, imports, service, runner, outbound, scheduler)


async def close_world(world: World) -> None:
    await world.runner.stop()
    world.scheduler.shutdown()
    await world.db.close()


@pytest.fixture
def campaign_settings(tmp_path: Path) -> Settings:
    return Settings(storage={"database": str(tmp_path / "gatewayd.db")}, http={"host": "127.0.0.1"},
                    campaigns={"window": 3, "failure_min_finished": 4, "failure_threshold": 0.5,
                               "stop_mention": "STOP au {number}", "stop_number": "06 00 00 00 00"})


@pytest.fixture
async def world(campaign_settings: Settings) -> AsyncIterator[World]:
    w = await open_world(campaign_settings, FakeClock())
    yield w
    await close_world(w)

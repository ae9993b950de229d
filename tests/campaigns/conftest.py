"""Campaign tests: real SQLite file, real services, runner and scheduler over outbound's real ledger.

The modems are not needed here: `Dispatch` plays the dispatcher's part by moving queued messages
to a final state through outbound's own store, as sending would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gatewayd.campaigns.runner import CampaignRunner
from gatewayd.campaigns.service import CampaignService
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.importer import ImportService
from gatewayd.outbound.service import OutboundService
from gatewayd.ops.scheduler import Scheduler
from gatewayd.store import messages
from gatewayd.store.db import Database


class Dispatch:
    """What the dispatcher would do to queued messages, oldest first, and a view of the ledger."""

    def __init__(self, db: Database, clock: FakeClock) -> None:
        self.db = db
        self.clock = clock

    async def finish(self, count: int, state: str = "delivered") -> list[int]:
        async with self.db.write() as conn:
            queued = await messages.list_page(conn, limit=100_000, state="queued")
            ids = sorted(m.id for m in queued)[:count]
            await messages.set_final(conn, ids, state, self.clock.now())
        return ids

    async def all(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await messages.list_page(conn, limit=100_000)
        return [{"id": m.id, "to_number": m.to, "text": m.text, "category": m.category, "state": m.state,
                 "priority": m.priority, "campaign_id": m.campaign_id} for m in sorted(rows, key=lambda m: m.id)]


@dataclass
class World:
    db: Database
    settings: Settings
    clock: FakeClock
    imports: ImportService
    service: CampaignService
    runner: CampaignRunner
    outbound: Dispatch
    scheduler: Scheduler


async def open_world(settings: Settings, clock: FakeClock) -> World:
    db = Database(settings.storage.database)
    await db.open()
    imports = ImportService(db, settings, clock)
    scheduler = Scheduler(clock)
    scheduler.start()
    service = CampaignService(db, settings, clock, imports, scheduler=scheduler)
    runner = CampaignRunner(service, OutboundService(db, settings, clock))
    return World(db, settings, clock, imports, service, runner, Dispatch(db, clock), scheduler)


async def close_world(world: World) -> None:
    await world.runner.stop()
    world.scheduler.shutdown()
    await world.db.close()


@pytest.fixture
def campaign_settings(tmp_path: Path) -> Settings:
    return Settings(storage={"database": str(tmp_path / "gatewayd.db")}, http={"host": "127.0.0.1"},
                    quiet_hours={"enabled": False},
                    campaigns={"window": 3, "failure_min_finished": 4, "failure_threshold": 0.5,
                               "stop_mention": "STOP au {number}", "stop_mention_en": "STOP to {number}",
                               "stop_number": "06 00 00 00 00"})


@pytest.fixture
async def world(campaign_settings: Settings) -> AsyncIterator[World]:
    w = await open_world(campaign_settings, FakeClock())
    yield w
    await close_world(w)

"""Contacts tests: a real Database file with every migration, the services over it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.store.db import Database


@pytest.fixture
def csettings(tmp_path: Path) -> Settings:
    return Settings(storage={"database": str(tmp_path / "gatewayd.db")}, http={"host": "127.0.0.1"})


@pytest.fixture
async def db(csettings: Settings) -> AsyncIterator[Database]:
    database = Database(csettings.storage.database)
    await database.open()
    yield database
    await database.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()

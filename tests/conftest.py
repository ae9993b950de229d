"""Shared fixtures: settings on a temporary SQLite file, an open database, the app over a real HTTP
server, API keys."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.app import build_app
from gatewayd.clock import FakeClock, SystemClock
from gatewayd.config import Settings
from gatewayd.store.db import Database
from tests.leaks import describe, lingering

# CI must not fail on a random draw nobody can replay: there, Hypothesis draws the same examples on
# every run. Local runs stay random, which is where new counterexamples are found.
hypothesis.settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("GATEWAYD_CI"):
    hypothesis.settings.load_profile("ci")



@pytest.fixture(autouse=True)
async def no_lingering_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves asyncio tasks behind once every fixture of it is torn down (after
    aioesphomeapi's verify_no_lingering_tasks): each part of the daemon must cancel and await the
    tasks it started when it stops."""
    before = asyncio.all_tasks()
    yield
    # One turn of the loop: a task cancelled at the very end gets to finish its cancellation.
    await asyncio.sleep(0)
    left = lingering(before)
    if left:
        for task in left:
            task.cancel()
        await asyncio.wait(left, timeout=5)
        pytest.fail("tasks still running after the test: " + "; ".join(sorted(describe(t) for t in left)),
                    pytrace=False)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Any:
    """In-process tests hash passwords with argon2id at its lowest cost: the same code (the hashing
    thread, verification, rehash checks), a thousandth of the CPU. At the real cost (~64 MiB, tens
    of ms on every core, at lowered priority) each sign-in took a second or more on a busy box.
    Daemons started as processes (tests/hostile, tests/faults, tests/foundation) keep the real
    cost, which their timing and memory checks are about; an in-process test that measures the
    cost asks for `real_password_hashing`."""
    from argon2 import PasswordHasher

    from gatewayd.accounts import passwords, users

    real = passwords._hasher, users._DUMMY_HASH
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    users._DUMMY_HASH = passwords.hash_password("not-a-real-password-1A!")
    yield real
    passwords._hasher, users._DUMMY_HASH = real


@pytest.fixture
def real_password_hashing(cheap_password_hashing: Any) -> Any:
    """The production argon2id cost for one test (timing checks: a hash must cost what it costs)."""
    from gatewayd.accounts import passwords, users

    cheap = passwords._hasher, users._DUMMY_HASH
    passwords._hasher, users._DUMMY_HASH = cheap_password_hashing
    yield
    passwords._hasher, users._DUMMY_HASH = cheap


def make_settings(tmp_path: Path, **sections: dict[str, Any]) -> Settings:
    """Settings with the database in tmp_path; keyword arguments replace whole sections' keys."""
    # The tests' webhook receivers listen on 127.0.0.1, which the daemon refuses by default.
    data: dict[str, Any] = {"storage": {"database": str(tmp_path / "gatewayd.db")}, "http": {"host": "127.0.0.1"},
                            "webhooks": {"allow_local_targets": True}}
    for name, values in sections.items():
        data.setdefault(name, {})
        if isinstance(values, dict):
            data[name].update(values)
        else:
            data[name] = values
    return Settings(**data)


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., Settings]:
    return lambda **sections: make_settings(tmp_path, **sections)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """An open, migrated database file in tmp_path (no app around it)."""
    database = Database(tmp_path / "gatewayd.db")
    await database.open()
    yield database
    await database.close()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app_client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings) -> TestClient:
    """The whole app (real SQLite file) behind a real HTTP server on 127.0.0.1."""
    app = build_app(settings)
    return await aiohttp_client(app)


@pytest.fixture
def api_key(app_client: TestClient) -> Callable[..., Awaitable[str]]:
    """`await api_key("send", "read")` → a bearer token with those scopes."""

    async def make(*scopes: str, name: str = "test") -> str:
        app: web.Application = app_client.server.app  # type: ignore[assignment]
        key = await create_key(app[keys.DB], SystemClock(), name, set(scopes or ("send", "read")))
        return key.token

    return make


def pytest_unconfigure(config: pytest.Config) -> None:
    """A leaked non-daemon thread (an unclosed aiosqlite connection) would hang the run forever:
    name it and fail fast instead."""
    import sys
    import threading

    lingering = [t.name for t in threading.enumerate()
                 if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if lingering:
        print(f"\nthreads still running after the tests (a resource was not closed): {lingering}",
              file=sys.stderr, flush=True)
        os._exit(3)

"""Console tests: the whole app on a real SQLite file behind a real HTTP server, a browser-like client."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.accounts.users import create_first_admin, create_user
from gatewayd.app import build_app
from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.store import users as user_store

PASSWORD = "Correct-Horse-9"
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF field"
    return match.group(1)


@dataclass
class Console:
    """A browser-like client: keeps cookies, follows the CSRF token of the last page it read."""

    client: TestClient
    app: web.Application
    clock: FakeClock
    csrf: str = ""

    async def get(self, path: str, **kw: Any) -> tuple[int, str]:
        resp = await self.client.get(path, **kw)
        body = await resp.text()
        match = CSRF_RE.search(body)
        if match:
            self.csrf = match.group(1)
        return resp.status, body

    async def post(self, path: str, data: dict[str, Any] | list[tuple[str, Any]] | None = None, *,
                   csrf: bool = True, **kw: Any) -> tuple[int, str, Any]:
        """POST a form (with the current CSRF token unless csrf=False); no redirect following."""
        form: list[tuple[str, Any]] = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            form.insert(0, ("_csrf", self.csrf))
        resp = await self.client.post(path, data=form, allow_redirects=False, **kw)
        return resp.status, await resp.text(), resp

    async def login(self, name: str, password: str = PASSWORD) -> Any:
        await self.get("/login")
        status, body, resp = await self.post("/login", {"name": name, "password": password, "next": "/"})
        assert status == 303, body
        await self.get("/")
        return resp

    async def logout(self) -> None:
        await self.get("/")
        status, _, _ = await self.post("/logout")
        assert status == 303


ConsoleFactory = Callable[..., Awaitable[Console]]


@pytest.fixture
def console_factory(aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path) -> ConsoleFactory:
    """`await console_factory(**settings_sections)` → a Console over a fresh app; the app is shared
    by later calls, so two Consoles act like two browsers on one daemon."""
    state: dict[str, Any] = {}

    async def make(**sections: dict[str, Any]) -> Console:
        if "app" not in state:
            data: dict[str, Any] = {"storage": {"database": str(tmp_path / "gatewayd.db")},
                                    "http": {"host": "127.0.0.1"}}
            data.update(sections)
            clock = FakeClock()
            app = build_app(Settings(**data), clock=clock)
            state.update(app=app, clock=clock, first=await aiohttp_client(app))
            client = state["first"]
        else:
            client = await aiohttp_client(state["first"].server)
        return Console(client, state["app"], state["clock"])

    return make


@pytest.fixture
async def console(console_factory: ConsoleFactory) -> Console:
    return await console_factory()


async def add_user(console: Console, name: str, role: str, password: str = PASSWORD) -> int:
    db, clock = console.app[keys.DB], console.app[keys.CLOCK]
    if await user_store.count(db) == 0:
        assert role == "admin", "the first user is the administrator"
        return await create_first_admin(db, clock, name, password)
    return await create_user(db, clock, name, password, role)


@pytest.fixture
async def admin(console: Console) -> Console:
    """The console signed in as the first administrator ('admin')."""
    await add_user(console, "admin", "admin")
    await console.login("admin")
    return console

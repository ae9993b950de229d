"""Outbound test kit: the whole app (real SQLite, real HTTP server) sending through simulated
modems on real ptys, with fast modem timings and an optional FakeClock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.app import build_app
from gatewayd.clock import Clock, SystemClock
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS
from gatewayd.store import messages as message_store
from gatewayd.config import Settings
from tests.waiting import settled, until, until_value


def make_settings(tmp_path: Path, **sections: Any) -> Settings:
    """Settings with the database in tmp_path; keyword arguments are whole sections."""
    data: dict[str, Any] = {"storage": {"database": str(tmp_path / "gatewayd.db")}, "http": {"host": "127.0.0.1"}}
    data.update(sections)
    # The tests' webhook receivers listen on 127.0.0.1, which the daemon refuses by default.
    data["webhooks"] = {"allow_local_targets": True, **data.get("webhooks", {})}
    return Settings(**data)

FAST_OUTBOUND = {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "line_cooldown_seconds": 5.0}


@dataclass
class Gateway:
    app: web.Application
    client: TestClient
    modems: list[SimModem]
    network: SimNetwork
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def post(self, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
        resp = await self.client.post("/api/v1/messages", json=body, headers={**self.auth, **headers})
        return resp.status, await resp.json()

    async def get(self, path: str) -> tuple[int, Any]:
        resp = await self.client.get(path, headers=self.auth)
        return resp.status, await resp.json()

    async def message(self, message_id: int) -> dict[str, Any]:
        status, body = await self.get(f"/api/v1/messages/{message_id}")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    async def wait_state(self, message_id: int, *states: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll the API until the message is in one of `states`."""
        return await until_value(lambda: self.message(message_id), lambda body: body["state"] in states, timeout,
                                 f"message {message_id} in {states}")  # type: ignore[no-any-return]

    async def wait_until(self, message_id: int, predicate: Callable[[dict[str, Any]], bool],
                         timeout: float = 10.0) -> dict[str, Any]:
        """Poll the API until `predicate(message)` holds."""
        return await until_value(lambda: self.message(message_id), predicate, timeout,
                                 f"message {message_id} to match")  # type: ignore[no-any-return]

    async def states(self) -> dict[int, str]:
        async with self.app[keys.DB].read() as conn:
            rows = await message_store.list_page(conn, limit=100_000)
        return {r.id: r.state for r in rows}

    def kick(self) -> None:
        self.app[keys.DISPATCHER].wake()

    async def settle(self, timeout: float = 10.0) -> None:
        """Wake the dispatcher and wait until it has done all it can now (its idle event)."""
        await settled(self.app[keys.DISPATCHER], timeout)


@asynccontextmanager
async def gateway(tmp_path: Path, *, lines: int = 1, network: SimNetwork | None = None, clock: Clock | None = None,
                  profiles: tuple[str, ...] = ("sim800", "ec25", "e3372"), latency: float | tuple[float, float] = 0.0,
                  sections: dict[str, Any] | None = None, scopes: tuple[str, ...] = ("send", "read", "admin"),
                  options: dict[str, float] | None = None, wait_ready: bool = True,
                  stable_links: bool = False, msisdns: tuple[str, ...] | None = None) -> AsyncIterator[Gateway]:
    """The app over `lines` simulated modems; yields once every line is ready. `stable_links`: the
    daemon opens each modem through its link path, which survives an unplug/replug. `msisdns`: each
    SIM's own number ('' for a SIM that does not store it)."""
    net = network or SimNetwork()
    modems: list[SimModem] = []
    client: TestClient | None = None
    try:
        for i in range(1, lines + 1):
            modem = SimModem(net, name=f"line{i}", profile=profiles[(i - 1) % len(profiles)],
                             link=tmp_path / f"line{i}", imei=f"86506702000{i:04d}", imsi=f"20801123456{i:04d}",
                             iccid=f"893301123456789{i:04d}",
                             msisdn=msisdns[i - 1] if msisdns else f"+3363998{i:04d}", seed=i, latency=latency)
            await modem.start()
            modems.append(modem)
        data: dict[str, Any] = {
            "modems": [{"name": m.name, "port": str(m.link) if stable_links else m.port} for m in modems],
            "outbound": dict(FAST_OUTBOUND),
            "quiet_hours": {"enabled": False},
            "api": {"requests_per_minute": 0, "recipients_per_day": 0},
        }
        for name, values in (sections or {}).items():
            data.setdefault(name, {})
            data[name].update(values) if isinstance(values, dict) else data.__setitem__(name, values)
        settings = make_settings(tmp_path, **data)
        app = build_app(settings, clock=clock)
        app[keys.MODEM_TIMINGS] = FAST_TEST_TIMINGS
        app[keys.OUTBOUND_OPTIONS] = {"fallback": 0.2, "stop_grace": 1.0, "seed": 7, **(options or {})}
        client = TestClient(TestServer(app))
        await client.start_server()
        if wait_ready:
            pool = app[keys.POOL]
            await until(lambda: len(pool.ready_lines()) == lines, 20, "all lines ready")
        key = await create_key(app[keys.DB], SystemClock(), "test", set(scopes))
        yield Gateway(app, client, modems, net, key.token)
    finally:
        if client is not None:
            await client.close()
        for modem in modems:
            await modem.stop()
        net.close()

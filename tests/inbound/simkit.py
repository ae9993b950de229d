"""The whole app (real SQLite file, real HTTP server, real dispatcher) over simulated modems on
real ptys, for inbound's end-to-end tests. Restartable on the same database and modems."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.app import build_app
from gatewayd.clock import SystemClock
from gatewayd.config import Settings
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS
from tests.waiting import until  # noqa: F401 (the inbound tests import it from here)

FAST_OUTBOUND = {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "line_cooldown_seconds": 5.0}


def stored(modem: SimModem) -> int:
    """SMS still in the simulated modem's receive memory."""
    mem = modem.state.storage(modem.state.cpms[2])
    return mem.used if mem is not None else 0


@dataclass
class Box:
    """A running gateway: the app, its HTTP client and an admin key."""

    app: web.Application
    client: TestClient
    token: str
    values: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> Any:
        resp = await self.client.get(path, headers=self.auth)
        body = await resp.json()
        assert resp.status == 200, body
        return body

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        resp = await self.client.post(path, json=body, headers=self.auth)
        return resp.status, await resp.json()

    async def inbound(self) -> list[dict[str, Any]]:
        return (await self.get("/api/v1/inbound?limit=500"))["messages"]  # type: ignore[no-any-return]


@asynccontextmanager
async def simulated_modems(tmp_path: Path, network: SimNetwork, lines: int = 1,
                           profiles: tuple[str, ...] = ("sim800", "ec25")) -> AsyncIterator[list[SimModem]]:
    modems: list[SimModem] = []
    try:
        for i in range(1, lines + 1):
            modem = SimModem(network, name=f"line{i}", profile=profiles[(i - 1) % len(profiles)],
                             link=tmp_path / f"line{i}", imei=f"86506702000{i:04d}", imsi=f"20801123456{i:04d}",
                             iccid=f"893301123456789{i:04d}", msisdn=f"+3363998{i:04d}", seed=i)
            await modem.start()
            modems.append(modem)
        yield modems
    finally:
        for modem in modems:
            await modem.stop()
        network.close()


@asynccontextmanager
async def box(tmp_path: Path, modems: list[SimModem], *, modem_extra: dict[str, dict[str, Any]] | None = None,
              **sections: dict[str, Any]) -> AsyncIterator[Box]:
    """The app over `modems` (already started) with the database in tmp_path; waits until ready."""
    data: dict[str, Any] = {
        "storage": {"database": str(tmp_path / "gatewayd.db")}, "http": {"host": "127.0.0.1"},
        "modems": [{"name": m.name, "port": m.port, **(modem_extra or {}).get(m.name, {})} for m in modems],
        "outbound": dict(FAST_OUTBOUND), "quiet_hours": {"enabled": False},
        "api": {"requests_per_minute": 0, "recipients_per_day": 0},
    }
    for name, values in sections.items():
        data.setdefault(name, {})
        data[name].update(values)
    app = build_app(Settings(**data))
    app[keys.MODEM_TIMINGS] = FAST_TEST_TIMINGS
    app[keys.OUTBOUND_OPTIONS] = {"fallback": 0.2, "stop_grace": 1.0, "seed": 7}
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        pool = app[keys.POOL]
        await until(lambda: len(pool.ready_lines()) == len(modems), 15, "all lines ready")
        key = await create_key(app[keys.DB], SystemClock(), "inbound-e2e", {"send", "read", "admin"})
        yield Box(app, client, key.token)
    finally:
        await client.close()

"""Fault-test kit: the whole app (real SQLite file, real HTTP server) running a campaign over
several simulated modems on real ptys, with every timer shrunk, and the ledger checks every fault
test ends with (all final, none twice, `unknown` only for sends in flight, healthy lines on)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


from gatewayd import keys
from gatewayd.modem.sim import SimNetwork
from gatewayd.outbound.model import FINAL_STATES
from gatewayd.store import messages as message_store
from gatewayd.store.messages import MessageRow
from tests.outbound.conftest import Gateway, gateway, until  # noqa: F401 (until: the faults tests import it from here)

# Shrunk timers: retries in tenths of a second, a troubled line set aside briefly, the campaign
# runner topping up five times a second with a small window so it keeps feeding during a fault.
SECTIONS: dict[str, dict[str, Any]] = {
    "outbound": {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.3, "line_cooldown_seconds": 0.5,
                 "spacing_min_seconds": 0.0, "spacing_max_seconds": 0.01},
    "campaigns": {"tick_seconds": 0.2, "window": 24},
    "quiet_hours": {"enabled": False},
    "api": {"requests_per_minute": 0, "recipients_per_day": 0},
}


class Rig(Gateway):
    """outbound's Gateway (app, client, simulated modems and network, an API key) plus campaign helpers."""

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        resp = await self.client.request(method, path, json=body, headers=self.auth)
        assert resp.status < 300, (method, path, resp.status, await resp.text())
        return await resp.json()

    def received_on(self, line: str) -> int:
        return sum(1 for r in self.network.received if r.line == line)

    def ready(self) -> list[str]:
        return self.app[keys.POOL].ready_lines()

    async def start_campaign(self, recipients: int, *, prefix: str = "+336100") -> tuple[int, list[str]]:
        """A transactional campaign to `recipients` distinct numbers, launched now; (id, numbers)."""
        numbers = [f"{prefix}{i:05d}" for i in range(recipients)]
        tpl = await self.call("POST", "/api/v1/templates", {"title": "Panne", "text": "Rappel de rendez-vous"})
        campaign = await self.call("POST", "/api/v1/campaigns", {
            "name": "Faults", "category": "transactional", "templates": {"default": tpl["id"]},
            "audience": {"numbers": numbers}})
        started = await self.call("POST", f"/api/v1/campaigns/{campaign['id']}/schedule", {})
        assert started["state"] == "running", started
        return campaign["id"], numbers

    async def rows(self) -> list[MessageRow]:
        async with self.app[keys.DB].read() as conn:
            return await message_store.list_page(conn, limit=100_000)

    async def drained(self, campaign_id: int, total: int, timeout: float = 60.0) -> list[MessageRow]:
        """Wait until the campaign's `total` messages are all in a final state and it completed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            rows = [r for r in await self.rows() if r.campaign_id == campaign_id]
            campaign = await self.call("GET", f"/api/v1/campaigns/{campaign_id}")
            if len(rows) == total and all(r.state in FINAL_STATES for r in rows) and campaign["state"] == "completed":
                return rows
            if loop.time() > deadline:
                raise AssertionError(f"not drained after {timeout} s: campaign {campaign['state']}, "
                                     f"{len(rows)}/{total} messages {Counter(r.state for r in rows)}")
            await asyncio.sleep(0.05)


@asynccontextmanager
async def rig(tmp_path: Path, *, lines: int = 3, latency: tuple[float, float] = (0.02, 0.05),
              sections: dict[str, dict[str, Any]] | None = None) -> AsyncIterator[Rig]:
    """outbound's gateway over `lines` simulated modems at stable link paths (they survive an
    unplug/replug), with the shrunk timers above; yields once all are ready."""
    merged = {name: {**SECTIONS.get(name, {}), **(sections or {}).get(name, {})}
              for name in {*SECTIONS, *(sections or {})}}
    async with gateway(tmp_path, lines=lines, latency=latency, sections=merged, stable_links=True) as gw:
        yield Rig(gw.app, gw.client, gw.modems, gw.network, gw.token)


def check_ledger(rows: list[MessageRow], network: SimNetwork, *, faulted: dict[str, int]) -> Counter[str]:
    """The fault rules. `faulted` = line → faults injected on it. Returns the states counted.

    Every message final; none received twice (nor a part twice); a message said sent/delivered was
    received; one the network never got is either a final non-sent state or `unknown`; `unknown`
    only on faulted lines, at most one per line per fault (the send in flight at that moment)."""
    got = Counter((r.recipient, r.text) for r in network.received)
    states = Counter(r.state for r in rows)
    assert all(r.state in FINAL_STATES for r in rows), states
    assert [k for k, c in got.items() if c > 1] == [] and network.duplicate_parts == [], "sent twice"
    ours = {(r.to, r.text) for r in rows}
    assert [k for k in got if k not in ours] == [], "the network got messages nobody asked for"
    for r in rows:
        if r.state in ("sent", "delivered"):
            assert got[(r.to, r.text)] == 1, f"message {r.id} is {r.state} but the network never got it"
    unknown = Counter(r.sent_line for r in rows if r.state == "unknown")
    for line, count in unknown.items():
        assert count <= faulted.get(line or "", 0), f"{count} unknown on {line} for {faulted.get(line, 0)} fault(s)"
    return states

"""`make demo`'s lines (`[simulator] lines`, no [[modems]] configured) are lines for every feature:
they answer USSD, templates and campaigns accept them, the console's forms offer them."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.app import build_app
from gatewayd.clock import SystemClock
from gatewayd.modem.timings import FAST_TEST_TIMINGS
from tests.conftest import make_settings
from tests.outbound.conftest import until


async def test_simulated_lines_answer_ussd_and_are_offered_everywhere(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, simulator={"lines": 2, "latency_ms": 0})
    assert settings.modems == []
    app = build_app(settings)
    app[keys.MODEM_TIMINGS] = FAST_TEST_TIMINGS
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        pool = app[keys.POOL]
        await until(lambda: len(pool.ready_lines()) == 2, 20, "the simulated lines are ready")
        key = await create_key(app[keys.DB], SystemClock(), "demo", {"admin"})
        auth = {"Authorization": f"Bearer {key.token}"}
        resp = await client.post("/api/v1/modems/line1/ussd", json={"code": "*100#"}, headers=auth)
        body = await resp.json()
        assert resp.status == 200 and body["line"] == "line1" and body["text"], body
        resp = await client.post("/api/v1/templates", json={"title": "t", "text": "Bonjour", "line": "line2"},
                                 headers=auth)
        assert resp.status == 201, await resp.json()
        resp = await client.post("/api/v1/messages", json={"to": "+33612345678", "text": "x",
                                                           "category": "transactional", "modem": "line2"},
                                 headers=auth)
        assert resp.status == 202, await resp.json()
        resp = await client.post("/api/v1/modems/line7/ussd", json={"code": "*100#"}, headers=auth)
        problem = await resp.json()
        assert resp.status == 404 and problem["errors"][0]["code"] == "line.unknown", problem
    finally:
        await client.close()

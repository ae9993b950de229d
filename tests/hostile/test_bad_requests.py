"""Attack 6 of issue 14: requests that made the daemon answer 500 now get the right 4xx."""

from __future__ import annotations

import asyncio

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock

from tests.console.conftest import Console


async def _key(console: Console, *scopes: str, name: str = "shop") -> str:
    return (await create_key(console.app[keys.DB], SystemClock(), name, set(scopes or ("send", "read")))).token


async def test_a_message_sent_through_the_api_shows_in_the_console(admin: Console) -> None:
    # The template passed key=... to _(), whose own first parameter was named key: a 500 for
    # every message an API key sent.
    token = await _key(admin, name="webshop")
    resp = await admin.client.post("/api/v1/messages", json={"to": "+33612345678", "text": "Commande prête", "category": "transactional"},
                                   headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 202, await resp.text()
    message_id = (await resp.json())["messages"][0]["id"]
    status, page = await admin.get(f"/sent/{message_id}")
    assert status == 200, page[-2000:]
    assert "webshop" in page
    resp = await admin.client.get(f"/sent/{message_id}/live")
    assert resp.status == 200
    assert "webshop" in (await resp.json())["html"]


async def _raw(console: Console, request: bytes) -> bytes:
    server = console.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return answer


async def test_headers_that_are_not_utf8_are_refused_with_400(admin: Console) -> None:
    auth = await _raw(admin, b"GET /api/v1/messages HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer \xff\xfekey\r\n"
                             b"Connection: close\r\n\r\n")
    assert auth.startswith(b"HTTP/1.1 400"), auth[:300]
    assert b"Authorization header is not valid UTF-8" in auth
    cookie = await _raw(admin, b"GET /sent HTTP/1.1\r\nHost: gw\r\nCookie: gw_session=\xe9t\xe9\r\n"
                               b"Connection: close\r\n\r\n")
    assert cookie.startswith(b"HTTP/1.1 400"), cookie[:300]
    agent = await _raw(admin, b"GET /login HTTP/1.1\r\nHost: gw\r\nUser-Agent: \xc3\x28\r\nConnection: close\r\n\r\n")
    assert agent.startswith(b"HTTP/1.1 400"), agent[:300]
    # The daemon still serves well-formed requests.
    status, _ = await admin.get("/sent")
    assert status == 200


async def test_deeply_nested_json_and_huge_integers_are_refused_with_400(admin: Console) -> None:
    token = await _key(admin)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deep = "[" * 1500 + "]" * 1500
    resp = await admin.client.post("/api/v1/messages", data=deep, headers=headers)
    assert resp.status == 400, await resp.text()
    assert "nested too deeply" in (await resp.json())["detail"]
    huge = '{"to": "+33612345678", "text": "x", "ttl": ' + "9" * 5000 + "}"
    resp = await admin.client.post("/api/v1/messages", data=huge, headers=headers)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["errors"][0]["field"] == "body"
    cursor = "W" * 6000  # base64 of '[[[[…' : a forged cursor nested thousands deep
    resp = await admin.client.get(f"/api/v1/threads?cursor={cursor}", headers=headers)
    assert resp.status in (400, 422), await resp.text()

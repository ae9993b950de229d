"""The inbound HTTP API over the real app (real SQLite file, real HTTP server)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.inbound.service import InboundService
from gatewayd.modem.events import CallEvent

from .conftest import sms

ALICE = "+33612345678"
BOB = "+33698765432"


@pytest.fixture
def inbound_service(app_client: TestClient) -> InboundService:
    return app_client.server.app[keys.INBOUND]


@pytest.fixture
async def headers(api_key: Callable[..., Awaitable[str]]) -> Callable[..., Awaitable[dict[str, str]]]:
    async def make(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await api_key(*scopes)}"}
    return make


async def deliver(service: InboundService, text: str, sender: str = ALICE, line: str = "line1", second: int = 0) -> None:
    now = service.clock.now()
    await service.handle_sms(sms(text, sender=sender, line=line, at=now, seconds=second))


async def get(client: TestClient, path: str, headers: dict[str, str], status: int = 200) -> Any:
    resp = await client.get(path, headers=headers)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def test_inbound_feed_with_since_cursor_and_errors(app_client: TestClient, inbound_service: InboundService,
                                                         headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    read = await headers("read")
    assert await get(app_client, "/api/v1/inbound", read) == {"messages": [], "next_cursor": None,
                                                               "poll_cursor": None}
    for i in range(3):
        await deliver(inbound_service, f"message {i}", second=i)
    page = await get(app_client, "/api/v1/inbound?limit=2", read)
    assert [m["text"] for m in page["messages"]] == ["message 0", "message 1"]
    first = page["messages"][0]
    assert set(first) >= {"id", "from", "text", "received_at", "modem"} and first["from"] == ALICE
    rest = await get(app_client, f"/api/v1/inbound?limit=2&cursor={page['next_cursor']}", read)
    assert [m["text"] for m in rest["messages"]] == ["message 2"]
    # The end of the list: a client paging until next_cursor is null stops here.
    assert rest["next_cursor"] is None and rest["poll_cursor"] is not None
    empty = await get(app_client, f"/api/v1/inbound?cursor={rest['poll_cursor']}", read)
    assert empty["messages"] == [] and empty["next_cursor"] is None
    assert empty["poll_cursor"] == rest["poll_cursor"]  # poll again from here
    await deliver(inbound_service, "message 3", second=3)
    news = await get(app_client, f"/api/v1/inbound?cursor={empty['poll_cursor']}", read)
    assert [m["text"] for m in news["messages"]] == ["message 3"]  # only what arrived since
    future = (inbound_service.clock.now() + timedelta(hours=1)).isoformat()
    assert (await get(app_client, f"/api/v1/inbound?since={future}", read))["messages"] == []
    detail = await get(app_client, f"/api/v1/inbound/{first['id']}", read)
    assert detail["raw_parts"][0]["pdu"].startswith("0791")
    await get(app_client, "/api/v1/inbound/999999", read, 404)
    bad = await get(app_client, "/api/v1/inbound?limit=0", read, 422)
    assert bad["errors"][0]["field"] == "limit"
    assert (await get(app_client, "/api/v1/inbound?since=yesterday", read, 422))["errors"][0]["field"] == "since"
    assert (await get(app_client, "/api/v1/inbound?cursor=zzz", read, 422))["errors"][0]["field"] == "cursor"
    await get(app_client, "/api/v1/inbound", {}, 401)
    await get(app_client, "/api/v1/inbound", await headers("send"), 403)


async def test_threads_list_search_read_unread_reply_and_both_directions(
        app_client: TestClient, inbound_service: InboundService,
        headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    read, send = await headers("read"), await headers("send")
    await deliver(inbound_service, "Bonjour, je serai en retard", line="line2")
    await deliver(inbound_service, "Quels horaires ?", sender=BOB, second=1)
    await deliver(inbound_service, "Encore moi", second=2, line="line2")
    listing = await get(app_client, "/api/v1/threads", read)
    assert listing["unread_total"] == 3
    alice = next(t for t in listing["threads"] if t["number"] == ALICE)
    assert alice["unread"] == 2 and alice["modem"] == "line2" and alice["last_message"]["text"] == "Encore moi"
    assert [t["number"] for t in (await get(app_client, "/api/v1/threads?q=06 98", read))["threads"]] == [BOB]
    assert [t["number"] for t in (await get(app_client, "/api/v1/threads?q=retard", read))["threads"]] == [ALICE]
    await deliver(inbound_service, "Votre code : 1234", sender="MaBanque", second=3)
    assert [t["number"] for t in (await get(app_client, "/api/v1/threads?q=MaBan", read))["threads"]] == ["MaBanque"]
    assert [t["number"] for t in (await get(app_client, "/api/v1/threads?q=code", read))["threads"]] == ["MaBanque"]
    listing_cursor = (await get(app_client, "/api/v1/threads?limit=1", read))["next_cursor"]
    bad = await get(app_client, f"/api/v1/threads?q=code&cursor={listing_cursor}", read, 422)
    assert bad["errors"][0]["field"] == "cursor"
    resp = await app_client.post(f"/api/v1/threads/{alice['id']}/reply", json={"text": "Pas de souci"}, headers=send)
    body = await resp.json()
    assert resp.status == 202 and body["messages"][0]["to"] == ALICE and body["messages"][0]["state"] == "queued"
    thread = await get(app_client, f"/api/v1/threads/{alice['id']}", read)
    assert thread["unread"] == 0 and thread["last_message"]["direction"] == "out"
    convo = await get(app_client, f"/api/v1/threads/{alice['id']}/messages?limit=2", read)
    assert [(m["direction"], m["text"]) for m in convo["messages"]] == [("out", "Pas de souci"), ("in", "Encore moi")]
    older = await get(app_client, f"/api/v1/threads/{alice['id']}/messages?limit=2&cursor={convo['next_cursor']}", read)
    assert [m["text"] for m in older["messages"]] == ["Bonjour, je serai en retard"] and older["next_cursor"] is None
    # Marking changes what others see: a read-only key may not (issue 14).
    assert (await app_client.post(f"/api/v1/threads/{alice['id']}/unread", headers=read)).status == 403
    resp = await app_client.post(f"/api/v1/threads/{alice['id']}/unread", headers=send)
    assert (await resp.json())["unread"] == 1
    resp = await app_client.post(f"/api/v1/threads/{alice['id']}/read", headers=send)
    assert (await resp.json())["unread"] == 0
    unread_only = await get(app_client, "/api/v1/threads?unread=true", read)
    assert [t["number"] for t in unread_only["threads"]] == ["MaBanque", BOB]
    resp = await app_client.post(f"/api/v1/threads/{alice['id']}/reply", json={"text": "x"}, headers=read)
    assert resp.status == 403
    resp = await app_client.post(f"/api/v1/threads/{alice['id']}/reply", json={"text": ""}, headers=send)
    assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == "text"
    resp = await app_client.post("/api/v1/threads/999/reply", json={"text": "x"}, headers=send)
    assert resp.status == 404


async def test_optouts_add_list_history_remove(app_client: TestClient, inbound_service: InboundService,
                                               headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    read, send, admin = await headers("read"), await headers("send"), await headers("admin")
    resp = await app_client.post("/api/v1/opt-outs", json={"number": "06 12 34 56 78", "note": "phone call"},
                                 headers=send)
    assert resp.status == 201 and (await resp.json())["number"] == ALICE
    again = await app_client.post("/api/v1/opt-outs", json={"number": ALICE}, headers=send)
    assert again.status == 200 and (await again.json())["created"] is False
    bad = await app_client.post("/api/v1/opt-outs", json={"number": "12"}, headers=send)
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "number"
    await deliver(inbound_service, "STOP", sender=BOB)
    current = await get(app_client, "/api/v1/opt-outs", read)
    assert [(o["number"], o["source"]) for o in current["opt_outs"]] == [(ALICE, "api"), (BOB, "sms")]
    refused = await app_client.delete(f"/api/v1/opt-outs/{ALICE}", json={"note": "x"}, headers=send)
    assert refused.status == 403 and (await refused.json())["errors"][0]["code"] == "optout.remove_admin_only"
    for body in (None, {"note": " "}):  # a reason is required (issue 14), even from an admin key
        noted = await app_client.delete(f"/api/v1/opt-outs/{ALICE}", json=body, headers=admin)
        assert noted.status == 422 and (await noted.json())["errors"][0]["code"] == "optout.note_required"
    removed = await app_client.delete("/api/v1/opt-outs/%2B33612345678", json={"note": "asked by phone"},
                                      headers=admin)
    assert removed.status == 200, await removed.text()
    assert (await app_client.delete(f"/api/v1/opt-outs/{ALICE}", json={"note": "x"}, headers=admin)).status == 404
    history = await get(app_client, "/api/v1/opt-outs/history", read)
    assert [(e["number"], e["action"], e["source"]) for e in history["events"]] == [
        (ALICE, "in", "api"), (BOB, "out", "sms"), (ALICE, "out", "api")]
    assert history["events"][0]["note"] == "asked by phone" and history["events"][0]["actor"].startswith("api:")
    mine = await get(app_client, f"/api/v1/opt-outs/history?number={BOB.replace('+', '%2B')}", read)
    assert [e["inbound_id"] is not None for e in mine["events"]] == [True]
    assert [o["number"] for o in (await get(app_client, "/api/v1/opt-outs", read))["opt_outs"]] == [BOB]


async def test_optouts_in_batch_are_all_checked_first(app_client: TestClient, inbound_service: InboundService,
                                                      headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    send, read, admin = await headers("send"), await headers("read"), await headers("admin")
    hook = await app_client.post("/api/v1/webhooks", headers=admin,
                                 json={"url": "http://127.0.0.1:9/hook", "events": ["optout.created"]})
    assert hook.status == 201, await hook.text()
    await deliver(inbound_service, "STOP", sender=BOB)
    bad = await app_client.post("/api/v1/opt-outs/batch", headers=send, json={
        "numbers": ["06 12 34 56 78", "12", "0698765432", "abc"], "note": "CRM sync"})
    problem = await bad.json()
    assert bad.status == 422 and [e["field"] for e in problem["errors"]] == ["numbers[1]", "numbers[3]"]
    assert [o["number"] for o in (await get(app_client, "/api/v1/opt-outs", read))["opt_outs"]] == [BOB]
    missing_note = await app_client.post("/api/v1/opt-outs/batch", headers=send, json={"numbers": [ALICE]})
    assert missing_note.status == 422 and (await missing_note.json())["errors"][0]["field"] == "note"
    many = [f"+336200{i:05d}" for i in range(1200)]
    resp = await app_client.post("/api/v1/opt-outs/batch", headers=send, json={
        "numbers": ["06 12 34 56 78", ALICE, BOB, *many], "note": "CRM sync"})
    assert resp.status == 200, await resp.text()
    assert await resp.json() == {"added": 1201, "already_opted_out": 1, "duplicates": 1}
    async with app_client.server.app[keys.DB].read() as conn:  # one webhook event per number opted out
        async with conn.execute("SELECT COUNT(*) FROM webhook_events WHERE type = 'optout.created'") as cur:
            assert (await cur.fetchone())[0] == 1 + 1201  # Bob's STOP, then the batch
    history = await get(app_client, f"/api/v1/opt-outs/history?number={ALICE.replace('+', '%2B')}", read)
    assert [(e["source"], e["note"]) for e in history["events"]] == [("api", "CRM sync")]
    too_many = await app_client.post("/api/v1/opt-outs/batch", headers=send,
                                     json={"numbers": ["0612345678"] * 10_001, "note": "x"})
    assert too_many.status == 422


async def test_calls_listing(app_client: TestClient, inbound_service: InboundService,
                             headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    read = await headers("read")
    now = inbound_service.clock.now()
    await inbound_service.handle_call(CallEvent("line1", "0612345678", now, now + timedelta(seconds=6), 2, False))
    await inbound_service.handle_call(CallEvent("line2", None, now, now, 1, True))
    calls = (await get(app_client, "/api/v1/calls", read))["calls"]
    assert [(c["from"], c["modem"], c["rings"], c["hung_up_by"]) for c in calls] == [
        (None, "line2", 1, "us"), (ALICE, "line1", 2, "caller")]
    assert set(calls[0]) >= {"id", "from", "modem", "started_at", "rings"}
    page = await get(app_client, "/api/v1/calls?limit=1", read)
    rest = await get(app_client, f"/api/v1/calls?limit=1&cursor={page['next_cursor']}", read)
    assert [c["from"] for c in rest["calls"]] == [ALICE]
    assert [c["modem"] for c in (await get(app_client, "/api/v1/calls?from=0612345678", read))["calls"]] == ["line1"]
    assert (await get(app_client, "/api/v1/calls?from=abc", read, 422))["errors"][0]["field"] == "from"


async def test_auto_reply_rules_crud_and_log(app_client: TestClient, inbound_service: InboundService,
                                             headers: Callable[..., Awaitable[dict[str, str]]]) -> None:
    read, admin = await headers("read"), await headers("admin")
    body = {"keyword": "HORAIRES", "reply": "Du lundi au vendredi 9h-18h"}
    assert (await app_client.post("/api/v1/auto-replies", json=body, headers=read)).status == 403
    resp = await app_client.post("/api/v1/auto-replies", json=body, headers=admin)
    rule = await resp.json()
    assert resp.status == 201 and rule["keyword"] == "HORAIRES" and rule["enabled"] is True
    assert (await app_client.post("/api/v1/auto-replies", json=body, headers=admin)).status == 409
    stop = await app_client.post("/api/v1/auto-replies", json={"keyword": "stop", "reply": "x"}, headers=admin)
    assert stop.status == 422 and (await stop.json())["errors"][0]["field"] == "keyword"
    unknown = await app_client.post("/api/v1/auto-replies", json={**body, "colour": "red"}, headers=admin)
    assert unknown.status == 422 and (await unknown.json())["errors"][0]["field"] == "colour"
    await deliver(inbound_service, "horaires ?")
    log = await get(app_client, "/api/v1/auto-replies/log", read)
    assert [(a["kind"], a["number"], a["held_back"]) for a in log["answers"]] == [("auto-reply", ALICE, None)]
    assert (await get(app_client, f"/api/v1/auto-replies/{rule['id']}", read))["hits"] == 1
    resp = await app_client.put(f"/api/v1/auto-replies/{rule['id']}", json={**body, "enabled": False}, headers=admin)
    assert (await resp.json())["enabled"] is False
    assert (await app_client.delete(f"/api/v1/auto-replies/{rule['id']}", headers=admin)).status == 204
    assert (await get(app_client, "/api/v1/auto-replies", read))["auto_replies"] == []
    assert (await app_client.delete(f"/api/v1/auto-replies/{rule['id']}", headers=admin)).status == 404


def test_openapi_paths_cover_every_inbound_route() -> None:
    from gatewayd.inbound.component import openapi_paths
    from gatewayd.api import autoreplies, calls, inbound, optouts, threads

    documented = {(path, method) for path, ops in openapi_paths().items() for method in ops}  # type: ignore[union-attr]
    routed = set()
    for module in (inbound, threads, optouts, calls, autoreplies):
        for route in module.routes:
            path = route.path.replace(r"{id:\d+}", "{id}")  # type: ignore[attr-defined]
            routed.add((path, route.method.lower()))  # type: ignore[attr-defined]
    assert routed == documented

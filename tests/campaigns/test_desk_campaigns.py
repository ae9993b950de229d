"""Campaign rules the messaging desk relies on, through the real HTTP API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.clock import utc_iso


async def _draft(client: TestClient, h: dict[str, str]) -> dict[str, object]:
    group = await (await client.post("/api/v1/groups", headers=h, json={"name": "G"})).json()
    await client.post("/api/v1/contacts", headers=h, json={"mobile": "0630000001", "groups": [group["id"]]})
    tpl = await (await client.post("/api/v1/templates", headers=h, json={"title": "T", "text": "Bonjour"})).json()
    r = await client.post("/api/v1/campaigns", headers=h, json={
        "name": "Promo", "templates": {"default": tpl["id"]}, "audience": {"groups": [group["id"]]}})
    assert r.status == 201, await r.text()
    return await r.json()  # type: ignore[no-any-return]


async def test_a_time_in_the_past_is_refused_and_nothing_is_sent(app_client: TestClient,
                                                                 api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    campaign = await _draft(app_client, h)
    yesterday = utc_iso(app_client.server.app[keys.CLOCK].now() - timedelta(days=1))
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h, json={"send_at": yesterday})
    body = await r.json()
    assert r.status == 422 and body["errors"][0]["field"] == "send_at" and "past" in body["errors"][0]["message"]
    again = await (await app_client.get(f"/api/v1/campaigns/{campaign['id']}", headers=h)).json()
    assert again["state"] == "draft"
    assert await app_client.server.app[keys.OUTBOUND].list(limit=10) == []


async def test_a_draft_is_editable_until_it_is_scheduled(app_client: TestClient,
                                                         api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    campaign = await _draft(app_client, h)
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={"title": "T2", "text": "Re {x}"})).json()
    change = {"name": "Promo d'hiver", "tag": "hiver", "category": "transactional",
              "templates": {"default": tpl["id"]}, "audience": {"numbers": ["06 30 00 00 09"]}}
    r = await app_client.put(f"/api/v1/campaigns/{campaign['id']}", headers=h, json=change)
    body = await r.json()
    assert r.status == 200, body
    assert (body["name"], body["tag"], body["category"], body["state"]) == ("Promo d'hiver", "hiver", "transactional",
                                                                           "draft")
    assert body["templates"] == {"default": tpl["id"]} and body["audience"]["numbers"] == ["06 30 00 00 09"]
    assert body["unknown_variables"] == {"default": ["x"]} and body["id"] == campaign["id"]
    bad = await app_client.put(f"/api/v1/campaigns/{campaign['id']}", headers=h, json={**change, "audience": {}})
    assert bad.status == 422
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    assert r.status == 200
    late = await app_client.put(f"/api/v1/campaigns/{campaign['id']}", headers=h, json=change)
    assert late.status == 409
    missing = await app_client.put("/api/v1/campaigns/9999", headers=h, json=change)
    assert missing.status == 404

"""Campaign rules the messaging desk relies on, through the real HTTP API."""

from __future__ import annotations

import asyncio
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
    await app_client.post(f"/api/v1/campaigns/{campaign['id']}/text-checks", headers=h, json={"defaults": {"x": "1"}})
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    assert r.status == 200, await r.text()
    late = await app_client.put(f"/api/v1/campaigns/{campaign['id']}", headers=h, json=change)
    assert late.status == 409
    missing = await app_client.put("/api/v1/campaigns/9999", headers=h, json=change)
    assert missing.status == 404


async def test_the_whole_audience_is_checked_and_flagged_recipients_excluded_on_request(
        app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    group = await (await app_client.post("/api/v1/groups", headers=h, json={"name": "Clients"})).json()
    for mobile, first in (("0630000001", "Anne"), ("0630000002", "Łukasz"), ("0630000003", "")):
        r = await app_client.post("/api/v1/contacts", headers=h, json={"mobile": mobile, "first_name": first,
                                                                      "groups": [group["id"]]})
        assert r.status == 201, await r.text()
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={
        "title": "T", "text": "Bonjour {first_name}, -20 % ce week-end"})).json()
    campaign = await (await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Soldes", "category": "transactional", "templates": {"default": tpl["id"]},
        "audience": {"groups": [group["id"]]}})).json()
    preview = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    checks = preview["text_checks"]
    assert checks["recipients"] == 2 and checks["by_kind"] == {"empty_variable": 1, "ucs2": 1, "too_long": 0}
    listed = {r["number"]: r["problems"] for r in checks["listed"]}
    assert listed == {"+33630000002": [{"kind": "ucs2", "detail": "Ł"}],
                      "+33630000003": [{"kind": "empty_variable", "detail": "first_name"}]}
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h)
    assert r.status == 409 and (await r.json())["errors"][0]["code"] == "campaign.text_problems"
    bad = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/text-checks", headers=h, json={"exclude": "?"})
    assert bad.status == 422
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/text-checks", headers=h, json={"exclude": True})
    assert r.status == 200
    preview = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    assert preview["totals"]["recipients"] == 1 and preview["totals"]["excluded"]["text"] == 2   # figures match
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h)
    assert r.status == 200, await r.text()
    outbound = app_client.server.app[keys.OUTBOUND]
    stats: dict[str, object] = {}
    for _ in range(200):
        stats = await (await app_client.get(f"/api/v1/campaigns/{campaign['id']}/stats", headers=h)).json()
        if stats["recipients"]["to_send"] == 0:  # type: ignore[index]
            break
        await asyncio.sleep(0.05)
    assert stats["recipients"]["excluded_text"] == 2 and stats["recipients"]["submitted"] == 1  # type: ignore[index]
    assert [m.text for m in await outbound.list(limit=10)] == ["Bonjour Anne, -20 % ce week-end"]
    report = await (await app_client.get(f"/api/v1/campaigns/{campaign['id']}/recipients", headers=h)).json()
    outcomes = {r["number"]: r["outcome"] for r in report["recipients"]}
    assert outcomes["+33630000002"] == outcomes["+33630000003"] == "excluded_text"

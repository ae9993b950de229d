"""Campaigns through the real HTTP API: create, preview, schedule, cancel, launch, pause, stats."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiohttp.test_utils import TestClient

from gatewayd import keys


async def test_campaign_api_flow(app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    group = await (await app_client.post("/api/v1/groups", headers=h, json={"name": "G"})).json()
    for i in range(3):
        await app_client.post("/api/v1/contacts", headers=h, json={
            "mobile": f"063000000{i}", "first_name": f"C{i}", "groups": [group["id"]]})
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Promo", "text": "Salut {first_name} {remise}"})).json()
    r = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Promo", "tag": "printemps", "templates": {"default": tpl["id"]},
        "audience": {"groups": [group["id"]], "numbers": ["0630000000", "0699999999"]}})
    assert r.status == 201, await r.text()
    campaign = await r.json()
    assert campaign["state"] == "draft" and campaign["category"] == "marketing"
    assert campaign["unknown_variables"] == {"default": ["remise"]}
    assert campaign["stop_mention"] == "Répondez STOP pour vous désabonner"

    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)
    preview = await r.json()
    assert preview["totals"]["recipients"] == 4 and preview["totals"]["excluded"]["duplicate"] == 1
    assert preview["unknown_variables"] == {"default": ["remise"]}
    assert preview["missing_variables"]["remise"] == 4
    assert all(s["text"].endswith("\nRépondez STOP pour vous désabonner") for s in preview["recipients"])

    bad = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "x", "templates": {"fr": tpl["id"]}, "audience": {"groups": [group["id"]]}})
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "templates.default"
    bad = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "x", "templates": {"default": tpl["id"]}, "audience": {}})
    assert bad.status == 422 and (await bad.json())["errors"][0]["field"] == "audience"

    # {remise} is in no column: a default value fills it.
    r = await app_client.put(f"/api/v1/campaigns/{campaign['id']}/variables", headers=h,
                             json={"variables": {"remise": {"default": "-10 %"}}})
    assert r.status == 200, await r.text()
    # The typed number without a contact has no first name: the whole-audience check holds the launch.
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    refused = await r.json()
    assert r.status == 409 and refused["errors"][0]["code"] == "campaign.text_problems", refused
    checked = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    assert checked["text_checks"]["empty_variables"] == {"first_name": 1} and checked["text_checks"]["blocking"]
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/text-checks", headers=h,
                              json={"defaults": {"first_name": "cher client"}})
    assert r.status == 200, await r.text()
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    body = await r.json()
    assert body["state"] == "scheduled" and body["scheduled_at"] == "2099-01-01T08:00:00.000Z"
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h, json={})
    assert r.status == 409
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00"})
    assert r.status == 422  # a time without its offset is ambiguous
    assert (await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/cancel", headers=h)).json())[
        "state"] == "canceled"

    r = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Now", "tag": "printemps", "category": "transactional", "templates": {"default": tpl["id"]},
        "audience": {"groups": [group["id"]]}, "variables": {"remise": {"default": "-10 %"}}})
    now = await r.json()
    assert now["stop_mention"] is None
    await app_client.post(f"/api/v1/campaigns/{now['id']}/text-checks", headers=h, json={"defaults": {"remise": "5"}})
    r = await app_client.post(f"/api/v1/campaigns/{now['id']}/schedule", headers=h)
    assert (await r.json())["state"] == "running"
    r = await app_client.post(f"/api/v1/campaigns/{now['id']}/pause", headers=h, json={"reason": "lunch"})
    assert (await r.json())["pause_reason"] == "lunch"
    stats = await (await app_client.get(f"/api/v1/campaigns/{now['id']}/stats", headers=h)).json()
    assert stats["recipients"]["to_send"] == 3 and stats["state"] == "paused"
    by_tag = await (await app_client.get("/api/v1/campaign-tags/printemps/stats", headers=h)).json()
    assert by_tag["campaigns"] == 2 and by_tag["recipients"]["to_send"] == 3
    listed = await (await app_client.get("/api/v1/campaigns?limit=1", headers=h)).json()
    assert [c["id"] for c in listed["campaigns"]] == [now["id"]] and listed["next_cursor"]
    r = await app_client.get(f"/api/v1/campaigns?limit=1&cursor={listed['next_cursor']}", headers=h)
    assert [c["id"] for c in (await r.json())["campaigns"]] == [campaign["id"]]
    assert (await app_client.delete(f"/api/v1/templates/{tpl['id']}", headers=h)).status == 409


async def test_launched_campaign_reaches_the_outbound_ledger(app_client: TestClient,
                                                             api_key: Callable[..., Awaitable[str]]) -> None:
    """The whole app: the runner started by the app hands recipients to the app's OutboundService."""
    app = app_client.server.app
    if keys.CAMPAIGN_RUNNER not in app:
        pytest.skip("the app has no outbound service wired yet")
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={"title": "t", "text": "Info"})).json()
    r = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Now", "category": "transactional", "templates": {"default": tpl["id"]},
        "audience": {"numbers": ["0640000001", "0640000002", "0640000002"]}})
    campaign = await r.json()
    await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h)
    stats: dict[str, object] = {}
    for _ in range(100):
        stats = await (await app_client.get(f"/api/v1/campaigns/{campaign['id']}/stats", headers=h)).json()
        if stats["recipients"]["submitted"] == 2:  # type: ignore[index]
            break
        await asyncio.sleep(0.05)
    assert stats["recipients"] == {"total": 2, "to_send": 0, "submitted": 2, "excluded_opted_out": 0,
                                   "excluded_invalid": 0, "excluded_deleted": 0, "excluded_text": 0}
    assert stats["duplicates_left_out"] == 1


async def test_openapi_describes_contacts_and_campaigns(app_client: TestClient) -> None:
    doc = await (await app_client.get("/api/v1/openapi.json")).json()
    mine = ("contacts", "contact-fields", "groups", "imports", "templates", "campaigns", "campaign-tags")
    ours = {p: ops for p, ops in doc["paths"].items() if p.startswith(tuple(f"/api/v1/{m}" for m in mine))}
    assert len(ours) >= 20
    for path, ops in ours.items():
        for method, op in ops.items():
            assert "x-undocumented" not in op, f"{method.upper()} {path}"
            assert op["x-scope"] in ("read", "send"), f"{method.upper()} {path}"
    assert "post" in doc["paths"]["/api/v1/campaigns/{id}/preview"]
    assert doc["paths"]["/api/v1/contacts"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "required"] == ["contacts", "next_cursor"]


async def test_a_campaign_has_its_own_transliteration_switch(app_client: TestClient,
                                                             api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Noël", "text": "Joyeux Noël, à l’été prochain !", "transliterate": False})).json()
    texts = {}
    for switch in (None, True):
        r = await app_client.post("/api/v1/campaigns", headers=h, json={
            "name": f"Noël {switch}", "category": "transactional", "templates": {"default": tpl["id"]},
            "audience": {"numbers": ["0630000000"]}, "transliterate": switch})
        assert r.status == 201, await r.text()
        campaign = await r.json()
        assert campaign["transliterate"] is switch
        preview = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
        texts[switch] = preview["recipients"][0]["text"]
    # The template says no; the campaign's own switch wins over it.
    assert texts[None] == "Joyeux Noël, à l’été prochain !"
    assert texts[True] == "Joyeux Noel, à l'été prochain !"


async def test_the_202_says_what_transliteration_changed_and_saved(app_client: TestClient,
                                                                   api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send')}"}
    text = "Noël : -20 % sur l’été, ça vous dit ? " * 4  # UCS-2: 3 SMS; GSM-7 once transliterated: 1
    r = await app_client.post("/api/v1/messages", headers=h, json={
        "to": ["0630000001", "0630000002"], "text": text, "category": "transactional", "transliterate": True})
    assert r.status == 202, await r.text()
    body = await r.json()
    assert len(body["messages"]) == 2
    changed = {(c["from"], c["to"]): c["count"] for c in body["transliteration"]["replaced"]}
    assert changed == {("ë", "e"): 8, ("’", "'"): 8, ("ç", "c"): 8}
    assert body["transliteration"]["segments_saved"] == 2 * (3 - 1)
    r = await app_client.post("/api/v1/messages", headers=h, json={
        "to": "0630000001", "text": text, "category": "transactional", "transliterate": False})
    assert (await r.json())["transliteration"] == {"replaced": [], "segments_saved": 0}
    schema = await (await app_client.get("/api/v1/openapi.json", headers=h)).json()
    assert "transliteration" in schema["components"]["schemas"]["Accepted"]["properties"]

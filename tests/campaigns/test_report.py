"""The per-recipient campaign report: outcome rules (pure), then a real campaign sent through the
simulator over ptys, read back page by page through the HTTP API and checked against the figures."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.outbound.conftest import Gateway, gateway

from gatewayd.campaigns.report import NOT_REACHED, OUTCOMES, CampaignReport, outcome_of, parse_outcomes
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.errors import InvalidInput
from gatewayd.modem.sim.network import SimNetwork
from gatewayd.store.campaigns import RecipientOutcome

from .conftest import World
from .test_lifecycle import _campaign, _drain, _setup


def recipient(state: str, *, exclusion: str | None = None, message_state: str | None = None) -> RecipientOutcome:
    return RecipientOutcome(id=1, number="+33612345678", source="number", contact_id=None, last_name=None,
                            first_name=None, state=state, exclusion=exclusion, message_id=None,
                            message_state=message_state, line=None, segments=None, error=None, submitted_at=None,
                            sent_at=None, delivered_at=None)


def test_each_recipient_gets_one_outcome() -> None:
    assert outcome_of(recipient("pending")) == "pending"
    assert outcome_of(recipient("excluded", exclusion="opted_out")) == "excluded_opted_out"
    assert outcome_of(recipient("excluded", exclusion="deleted")) == "excluded_deleted"
    assert outcome_of(recipient("submitted", message_state="delivered")) == "delivered"
    assert outcome_of(recipient("submitted", message_state="unknown")) == "unknown"
    assert set(NOT_REACHED) < set(OUTCOMES)


def test_outcome_filters_are_checked_and_expanded() -> None:
    assert parse_outcomes(["failed,delivered", "failed"]) == ("failed", "delivered")
    assert parse_outcomes(["not_reached"]) == NOT_REACHED
    assert parse_outcomes([" ", ""]) == ()
    with pytest.raises(InvalidInput, match="unknown outcome 'lost'") as caught:
        parse_outcomes(["delivered,lost"])
    assert caught.value.errors[0].field == "outcome"


async def test_pages_keep_to_the_campaign_when_recipient_ids_interleave(world: World) -> None:
    """A refresh adds recipients after another campaign's: a page never shows the other's."""
    group_id, fr, en = await _setup(world, 3)
    first = await _campaign(world, group_id, fr, en)
    await world.service.schedule(first)
    await world.runner.tick()
    contacts = ContactService(world.db, world.settings, world.clock)
    others = await GroupService(world.db, world.clock).create("Autres", "", None)
    for i in range(2):
        await contacts.create(ContactInput(f"062000000{i}", first_name=f"O{i}", groups=(others.id,)), "t")
    second = await _campaign(world, others.id, fr, en)
    await world.service.schedule(second)
    await world.runner.tick()
    await contacts.create(ContactInput("0619999999", first_name="Late", groups=(group_id,)), "t")
    await world.service.refresh(first)
    await _drain(world, first)
    report = CampaignReport(world.db, first, 72)
    pages = [page async for page in report.pages(size=2)]
    numbers = [x.recipient.number for page in pages for x in page]
    assert numbers == ["+33610000000", "+33610000001", "+33610000002", "+33619999999"]
    assert [len(p) for p in pages] == [2, 2]
    report = CampaignReport(world.db, second, 72)
    assert [x.recipient.number for x in await report.page()] == ["+33620000000", "+33620000001"]


# --- end to end: simulator over ptys, real dispatcher, real delivery reports -----------------------

PEOPLE = {
    "+33612000001": {},                               # delivered
    "+33612000002": {"reply": "Merci, à samedi"},     # delivered, answers
    "+33612000003": {"reply_stop": True},             # delivered, texts STOP
    "+33612000004": {"report_status": 65},            # the network reports a permanent failure
    "+33612000005": {},                               # opted out before the campaign
}


async def _stats_when(gw: Gateway, campaign_id: int, done: Callable[[dict[str, Any]], bool],
                      timeout: float = 20.0) -> dict[str, Any]:
    """Poll the campaign's figures until `done` holds for them; they are returned."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        _, stats = await gw.get(f"/api/v1/campaigns/{campaign_id}/stats")
        if done(stats):
            return stats  # type: ignore[no-any-return]
        assert loop.time() < deadline, f"timed out; figures now {stats}"
        await asyncio.sleep(0.05)


async def _recipients(gw: Gateway, campaign_id: int, query: str = "", limit: int = 2) -> list[dict[str, Any]]:
    """Every page of the report through the API, following next_cursor."""
    out: list[dict[str, Any]] = []
    cursor = ""
    while True:
        status, body = await gw.get(f"/api/v1/campaigns/{campaign_id}/recipients?limit={limit}{query}{cursor}")
        assert status == 200, body
        out += body["recipients"]
        if not body["next_cursor"]:
            return out
        cursor = f"&cursor={body['next_cursor']}"


async def test_report_tells_what_became_of_each_recipient(tmp_path: Path) -> None:
    net = SimNetwork()
    for number, behaviour in PEOPLE.items():
        net.add_subscriber(number, **behaviour)
    async with gateway(tmp_path, network=net) as gw:
        resp = await gw.client.post("/api/v1/opt-outs", json={"number": "+33612000005"}, headers=gw.auth)
        assert resp.status in (200, 201), await resp.text()
        resp = await gw.client.post("/api/v1/templates", json={"title": "Promo", "text": "Soldes samedi"},
                                    headers=gw.auth)
        template = await resp.json()
        resp = await gw.client.post("/api/v1/campaigns", headers=gw.auth, json={
            "name": "Soldes", "templates": {"default": template["id"]},
            "audience": {"numbers": list(PEOPLE)}})
        campaign = await resp.json()
        assert resp.status == 201, campaign
        await gw.client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=gw.auth)
        stats = await _stats_when(gw, campaign["id"], lambda s: s["delivered"] + s["failed"] == 4
                                  and s["opt_outs"] == 1 and s["replies"] == 1)
        lines = {x["number"]: x for x in await _recipients(gw, campaign["id"])}

    assert list(lines) == list(PEOPLE)  # recipient order, every page followed
    assert {n: x["outcome"] for n, x in lines.items()} == {
        "+33612000001": "delivered", "+33612000002": "delivered", "+33612000003": "delivered",
        "+33612000004": "failed", "+33612000005": "excluded_opted_out"}
    assert [n for n, x in lines.items() if x["replied"]] == ["+33612000002"]
    assert [n for n, x in lines.items() if x["opted_out"]] == ["+33612000003"]
    failed = lines["+33612000004"]
    assert failed["error"] and failed["sent_at"] and failed["delivered_at"] is None and failed["line"] == "line1"
    delivered = lines["+33612000001"]
    assert delivered["delivered_at"] >= delivered["sent_at"] and delivered["segments"] == 1
    assert lines["+33612000005"]["message_id"] is None and lines["+33612000005"]["sent_at"] is None
    # The report and the figures count the same things.
    outcomes = Counter(x["outcome"] for x in lines.values())
    assert (outcomes["delivered"], outcomes["failed"]) == (stats["delivered"], stats["failed"])
    assert outcomes["excluded_opted_out"] == stats["recipients"]["excluded_opted_out"]
    assert sum(x["replied"] for x in lines.values()) == stats["replies"]
    assert sum(x["opted_out"] for x in lines.values()) == stats["opt_outs"]


async def test_report_filters_and_refusals(tmp_path: Path) -> None:
    net = SimNetwork()
    for number, behaviour in PEOPLE.items():
        net.add_subscriber(number, **behaviour)
    async with gateway(tmp_path, network=net) as gw:
        resp = await gw.client.post("/api/v1/templates", json={"title": "Info", "text": "Info"}, headers=gw.auth)
        template = await resp.json()
        resp = await gw.client.post("/api/v1/campaigns", headers=gw.auth, json={
            "name": "Info", "category": "transactional", "templates": {"default": template["id"]},
            "audience": {"numbers": list(PEOPLE)[:4]}})
        campaign = await resp.json()
        await gw.client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=gw.auth)
        await _stats_when(gw, campaign["id"], lambda s: s["delivered"] + s["failed"] == 4)
        not_reached = await _recipients(gw, campaign["id"], "&outcome=not_reached")
        assert [x["number"] for x in not_reached] == ["+33612000004"]
        both = await _recipients(gw, campaign["id"], "&outcome=failed&outcome=delivered", limit=500)
        assert len(both) == 4
        status, problem = await gw.get(f"/api/v1/campaigns/{campaign['id']}/recipients?outcome=lost")
        assert status == 422 and problem["errors"][0]["field"] == "outcome"
        status, problem = await gw.get("/api/v1/campaigns/98765/recipients")
        assert status == 404
        status, problem = await gw.get(f"/api/v1/campaigns/{campaign['id']}/recipients?cursor=forged")
        assert status == 422 and problem["errors"][0]["field"] == "cursor"

"""The messaging desk through the API: a conversation holds every message exchanged with the number
on the line, whoever sent it; a number is found whatever way it is written."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.app import build_app
from gatewayd.clock import FakeClock, SystemClock
from gatewayd.config import Settings
from gatewayd.inbound.service import InboundService
from gatewayd.outbound.model import Category, NewMessage

from .conftest import sms

ALICE = "+33612340101"
BOB = "+33698765432"
ALICE_FORMS = ("06 12 34 01 01", "0612340101", "+33612340101", "+33 6 12 34 01 01", "0033612340101",
               "+33 (0)6 12 34 01 01", "06.12.34.01.01")


@pytest.fixture
async def app_client(aiohttp_client: Callable[..., Awaitable[TestClient]], settings: Settings) -> TestClient:
    """The whole app on a fake clock: each step below happens a second after the previous one."""
    return await aiohttp_client(build_app(settings, clock=FakeClock()))


@pytest.fixture
def inbound_service(app_client: TestClient) -> InboundService:
    return app_client.server.app[keys.INBOUND]


@pytest.fixture
async def read(app_client: TestClient) -> dict[str, str]:
    key = await create_key(app_client.server.app[keys.DB], SystemClock(), "desk", {"read", "send"})
    return {"Authorization": f"Bearer {key.token}"}


async def get(client: TestClient, path: str, headers: dict[str, str], status: int = 200, **params: Any) -> Any:
    resp = await client.get(path, headers=headers, params=params)
    body = await resp.json()
    assert resp.status == status, body
    return body


async def deliver(service: InboundService, text: str, sender: str = ALICE, line: str = "line1") -> None:
    service.clock.advance(1)  # type: ignore[attr-defined]
    await service.handle_sms(sms(text, sender=sender, line=line, at=service.clock.now()))


async def test_inbound_from_accepts_any_form_of_the_number(app_client: TestClient, inbound_service: InboundService,
                                                           read: dict[str, str]) -> None:
    await deliver(inbound_service, "Ma commande ?")
    await deliver(inbound_service, "Autre", sender=BOB)
    await deliver(inbound_service, "Encore moi")
    for form in ALICE_FORMS:
        page = await get(app_client, "/api/v1/inbound", read, **{"from": form})
        assert [m["text"] for m in page["messages"]] == ["Ma commande ?", "Encore moi"], form
    first = await get(app_client, "/api/v1/inbound", read, limit="1", **{"from": "06 12 34 01 01"})
    rest = await get(app_client, "/api/v1/inbound", read, cursor=first["next_cursor"], **{"from": "0612340101"})
    assert [m["text"] for m in rest["messages"]] == ["Encore moi"]          # the cursor walks the same sender
    bad = await get(app_client, "/api/v1/inbound", read, 422, **{"from": "06 12"})
    assert bad["errors"][0]["field"] == "from"


async def test_threads_q_accepts_any_form_of_the_number(app_client: TestClient, inbound_service: InboundService,
                                                        read: dict[str, str]) -> None:
    await deliver(inbound_service, "Bonjour")
    await deliver(inbound_service, "Autre", sender=BOB)
    for form in ALICE_FORMS:
        found = await get(app_client, "/api/v1/threads", read, q=form)
        assert [t["number"] for t in found["threads"]] == [ALICE], form


async def test_a_thread_holds_every_message_exchanged_with_the_number(
        app_client: TestClient, inbound_service: InboundService, read: dict[str, str]) -> None:
    app = app_client.server.app
    outbound = app[keys.OUTBOUND]
    clock = app[keys.CLOCK]
    # The API message the customer answers, then a campaign's SMS, both before any thread exists.
    resp = await app_client.post("/api/v1/messages", json={"to": "06 12 34 01 01", "text": "Votre colis arrive",
                                                                 "category": "transactional"},
                                 headers=read)
    assert resp.status == 202, await resp.text()
    clock.advance(1)
    [campaign_sms] = await outbound.submit([NewMessage(to=ALICE, text="Soldes -20 %", category=Category.MARKETING,
                                                       source="campaign", priority=10)])
    clock.advance(1)
    await outbound.submit([NewMessage(to=ALICE, text="Pour un autre numéro", source="api", line="line2")])
    await outbound.submit([NewMessage(to=BOB, text="Pas pour Alice", source="api")])
    await deliver(inbound_service, "Merci, à quelle heure ?")
    [thread] = (await get(app_client, "/api/v1/threads", read, q=ALICE))["threads"]
    clock.advance(1)
    reply = await app_client.post(f"/api/v1/threads/{thread['id']}/reply", json={"text": "Vers 14 h"}, headers=read)
    assert reply.status == 202
    await outbound.cancel(campaign_sms.id)

    convo = await get(app_client, f"/api/v1/threads/{thread['id']}/messages", read)
    seen = [(m["direction"], m["text"], m.get("state"), m.get("source")) for m in convo["messages"]]
    assert seen == [("out", "Vers 14 h", "queued", "reply"),
                    ("in", "Merci, à quelle heure ?", None, None),
                    ("out", "Soldes -20 %", "canceled", "campaign"),
                    ("out", "Votre colis arrive", "queued", "api")]
    # Paged two at a time, the same messages come in the same order, none twice.
    walked, cursor = [], None
    while True:
        page = await get(app_client, f"/api/v1/threads/{thread['id']}/messages", read, limit="2",
                         **({"cursor": cursor} if cursor else {}))
        walked += [(m["direction"], m["text"]) for m in page["messages"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert walked == [(d, t) for d, t, _, _ in seen]

"""What the one-send-path matrix (tests/outbound/test_send_matrix.py, where these surfaces are rows
for the STOP mention, personalisation, transliteration, segment cap, opt-outs, quiet hours and line
choice) does not cover: idempotency, and how each surface tells its client that an opted-out
recipient will not get the message. The same send through /api/v1, SMSEagle's JSON-RPC, SMSEagle's
API v2 and SMS Gateway for Android's API (its official client)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from android_sms_gateway import AsyncAPIClient, domain
from android_sms_gateway.errors import APIError

from gatewayd import keys
from gatewayd.clock import FakeClock
from gatewayd.store import optouts

from tests.outbound.conftest import Gateway, gateway

from .conftest import base_url

MONDAY_1000 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)   # 10:00 in Paris
MARKETING = {"smseagle": {"category": "marketing"}, "android_gateway": {"category": "marketing"}}
NUMBER = "+33612345678"


class Refused(Exception):
    """The surface refused the send (its own way of saying so)."""


@dataclass(frozen=True)
class Surface:
    name: str
    send: Callable[[Gateway, str, str | None], Awaitable[list[tuple[int, str]]]]  # -> [(id, state)]


async def _api(gw: Gateway, text: str, key: str | None) -> list[tuple[int, str]]:
    status, body = await gw.post({"to": NUMBER, "text": text, "category": "marketing"},
                                 **({"Idempotency-Key": key} if key else {}))
    if status != 202:
        raise Refused(body)
    return [(m["id"], m["state"]) for m in body["messages"]]


async def _jsonrpc(gw: Gateway, text: str, key: str | None) -> list[tuple[int, str]]:
    resp = await gw.client.post("/jsonrpc/sms", headers={"Idempotency-Key": key} if key else {}, json={
        "method": "sms.send_sms", "params": {"access_token": gw.token, "to": NUMBER, "message": text,
                                             "responsetype": "extended"}})
    result = (await resp.json())["result"]
    if isinstance(result, dict):
        raise Refused(result)
    return [(int(r["message_id"]), "ok" if r["status"] == "ok" else "refused") for r in result]


async def _v2(gw: Gateway, text: str, key: str | None) -> list[tuple[int, str]]:
    headers = {"access-token": gw.token, **({"Idempotency-Key": key} if key else {})}
    resp = await gw.client.post("/api/v2/messages/sms", headers=headers, json={"to": [NUMBER], "text": text})
    if resp.status != 200:
        raise Refused(await resp.text())
    return [(r["id"], r["status"]) for r in await resp.json()]


async def _android(gw: Gateway, text: str, key: str | None) -> list[tuple[int, str]]:
    async with AsyncAPIClient("test", gw.token, base_url=base_url(gw) + "/3rdparty/v1") as api:
        try:
            state = await api.send(domain.Message(phone_numbers=[NUMBER], text_message=domain.TextMessage(text=text),
                                                  id=key))
        except APIError as exc:
            raise Refused(exc.status_code) from None
    # That API names sends by the client's id: read the ledger ids of this one back from gatewayd.
    _, page = await gw.get(f"/api/v1/messages?to={NUMBER.replace('+', '%2B')}")
    newest = page["messages"][0]
    return [(newest["id"], state.recipients[0].state.value)]


SURFACES = [Surface("api", _api), Surface("smseagle-jsonrpc", _jsonrpc), Surface("smseagle-v2", _v2),
            Surface("android", _android)]
ids = [s.name for s in SURFACES]


async def _settle(gw: Gateway) -> None:
    gw.kick()
    await asyncio.sleep(0.3)  # nothing may happen: there is no event to wait for


@pytest.mark.parametrize("surface", SURFACES, ids=ids)
async def test_opt_out_blocks(tmp_path: Path, surface: Surface) -> None:
    clock = FakeClock(MONDAY_1000)
    async with gateway(tmp_path, clock=clock, sections=MARKETING) as gw:
        async with gw.app[keys.DB].write() as conn:
            await optouts.record(conn, number=NUMBER, action="out", source="console", now=clock.now())
        [(mid, answered)] = await surface.send(gw, "Soldes", None)
        assert answered in ("blocked", "refused", "error", "Failed")  # each surface says it will not go
        assert (await gw.message(mid))["state"] == "blocked"
        await _settle(gw)
        assert gw.network.received_by(NUMBER) == []


@pytest.mark.parametrize("surface", SURFACES, ids=ids)
async def test_idempotency(tmp_path: Path, surface: Surface) -> None:
    async with gateway(tmp_path, clock=FakeClock(MONDAY_1000), sections=MARKETING) as gw:
        first = await surface.send(gw, "Soldes", "campaign-7")
        again = await surface.send(gw, "Soldes", "campaign-7")
        assert [m for m, _ in again] == [m for m, _ in first]
        with pytest.raises(Refused):
            await surface.send(gw, "Autre chose", "campaign-7")
        await gw.wait_state(first[0][0], "delivered")
        states: dict[int, Any] = await gw.states()
        assert list(states) == [first[0][0]] and len(gw.network.received_by(NUMBER)) == 1


RATE_LIMITED = {"api": {"requests_per_minute": 12, "recipients_per_day": 0}}


@pytest.mark.parametrize("surface", ["jsonrpc", "http_api", "v2", "android"])
async def test_compat_sends_carry_ratelimit_headers(tmp_path: Path, surface: str) -> None:
    """The compatibility surfaces take from the same per-key bucket as /api/v1/messages and say so
    in the same RateLimit-* headers (12 per minute: a burst of 2)."""
    async with gateway(tmp_path, sections=RATE_LIMITED) as gw:
        remaining = []
        for i in range(3):
            number = f"+3361234567{i}"
            if surface == "jsonrpc":
                resp = await gw.client.post("/jsonrpc/sms", json={"method": "sms.send_sms", "params": {
                    "access_token": gw.token, "to": number, "message": "hello"}})
            elif surface == "http_api":
                resp = await gw.client.get("/http_api/send_sms", params={
                    "access_token": gw.token, "to": number, "message": "hello"})
            elif surface == "v2":
                resp = await gw.client.post("/api/v2/messages/sms", headers={"access-token": gw.token},
                                            json={"to": [number], "text": "hello"})
            else:
                resp = await gw.client.post("/3rdparty/v1/messages", headers=gw.auth,
                                            json={"phoneNumbers": [number], "textMessage": {"text": "hello"}})
            assert resp.headers["RateLimit-Limit"] == "2", (surface, i, dict(resp.headers))
            remaining.append(int(resp.headers["RateLimit-Remaining"]))
            assert 1 <= int(resp.headers["RateLimit-Reset"]) <= 10
        assert remaining == [1, 0, 0]
        assert len(await gw.states()) == 2  # the third was refused

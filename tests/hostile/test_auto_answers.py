"""Attack 8 of issue 14: automatic answers only to numbers that can be mobile lines of the allowed
destinations, and a cap over all numbers per hour (InboundService on a real SQLite file)."""

from __future__ import annotations

from datetime import timedelta

from gatewayd.clock import FakeClock
from gatewayd.modem.events import CallEvent
from gatewayd.store import autoreplies
from gatewayd.store.db import Database

from tests.inbound.test_service import ALICE, Build, build, clock, receive

__all__ = ["build", "clock"]  # fixtures of the inbound tests

PREMIUM = "+33891234567"      # French premium rate (08 9x)
SATELLITE = "+881612345678"   # Global Mobile Satellite System
UNASSIGNED = "+99012345678"   # a calling code no country has
UK_MOBILE = "+447700900123"


async def test_no_automatic_answer_to_premium_satellite_or_foreign_numbers(build: Build, clock: FakeClock,
                                                                          db: Database) -> None:
    service, outbound = await build(inbound={"missed_call_text": "Écrivez-nous par SMS."})
    await service.rules.create(keyword="INFO", reply="Ouvert du lundi au vendredi")
    for sender in (PREMIUM, SATELLITE, UNASSIGNED, UK_MOBILE, ALICE):
        await receive(service, clock, "INFO", sender=sender)
    start = clock.now()
    await service.handle_call(CallEvent("line1", PREMIUM, start, start + timedelta(seconds=8), 3, False))
    assert [r.to for r in await outbound.rows()] == [ALICE]
    held = {d.number: d.held_back for d in await autoreplies.sends(db) if d.held_back}
    assert "not a mobile number" in held[PREMIUM]
    for number in (SATELLITE, UNASSIGNED, UK_MOBILE):
        assert "allowed countries" in held[number] or "not a mobile number" in held[number], held[number]


async def test_allowed_destinations_widen_automatic_answers(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build(api={"allowed_destinations": ["FR", "GB"]})
    await service.rules.create(keyword="INFO", reply="Bonjour")
    for sender in (UK_MOBILE, SATELLITE):
        await receive(service, clock, "INFO", sender=sender)
    assert [r.to for r in await outbound.rows()] == [UK_MOBILE]


async def test_automatic_answers_to_everyone_are_capped_per_hour(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build(inbound={"autoreply_max_per_hour": 5})
    await service.rules.create(keyword="INFO", reply="Bonjour")
    senders = [f"+336123400{n:02d}" for n in range(8)]
    for sender in senders:
        await receive(service, clock, "INFO", sender=sender)
    assert len(await outbound.rows()) == 5
    held = [d.held_back for d in await autoreplies.sends(db) if d.held_back]
    assert len(held) == 3 and all("inbound.autoreply_max_per_hour" in h for h in held)
    clock.advance(3601)
    await receive(service, clock, "INFO", sender="+33612349999")
    assert len(await outbound.rows()) == 6

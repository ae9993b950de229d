"""InboundService on a real SQLite file: STOP/START in the storing transaction, auto-replies with
the anti-loop cap, confirmations, calls, replies from threads, incomplete long messages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from gatewayd.clock import FakeClock
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.inbound.service import InboundService
from gatewayd.modem.events import CallEvent
from gatewayd.outbound.model import Category, MessageRow, NewMessage
from gatewayd.modem.pool import FixedLines
from gatewayd.outbound.service import OutboundService
from gatewayd.store import autoreplies, calls, inbound, optouts, threads
from gatewayd.store.db import Database

from .conftest import events, sms, subscribe_all

ALICE = "+33612345678"
BOB = "+33698765432"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc))


Build = Callable[..., Any]


class Ledger:
    """Outbound's real service, with helpers to seed and read its ledger."""

    def __init__(self, service: OutboundService, clock: FakeClock) -> None:
        self.service = service
        self.clock = clock

    async def add_raw(self, *, to: str, category: str, state: str = "queued", text: str = "promo") -> int:
        send_at = self.clock.now() + timedelta(days=1) if state == "scheduled" else None
        [row] = await self.service.submit([NewMessage(to=to, text=text, category=Category(category), send_at=send_at,
                                                      source="campaign")])
        assert row.state == state
        return row.id

    async def rows(self) -> list[MessageRow]:
        return sorted(await self.service.list(limit=10_000), key=lambda r: r.id)


@pytest.fixture
async def build(settings_factory: Callable[..., Any], db: Database, clock: FakeClock) -> AsyncIterator[Build]:
    made: list[InboundService] = []
    await subscribe_all(db, clock.now())

    async def make(**sections: Any) -> tuple[InboundService, Ledger]:
        settings = settings_factory(**sections)
        lines = FixedLines(("line1", "line2"))  # the pool's view, as the composition root passes it
        outbound = OutboundService(db, settings, clock, lines=lines)
        service = InboundService(db, settings, clock, outbound, lines=lines)
        made.append(service)
        return service, Ledger(outbound, clock)

    yield make
    for service in made:
        await service.stop()


async def receive(service: InboundService, clock: FakeClock, text: str, sender: str = ALICE, **kw: Any) -> None:
    clock.advance(1)
    await service.handle_sms(sms(text, sender=sender, at=clock.now(), **kw))


async def test_stop_opts_out_and_blocks_pending_marketing_in_the_same_transaction(build: Build, clock: FakeClock,
                                                                                  db: Database) -> None:
    service, outbound = await build()
    promo = await outbound.add_raw(to=ALICE, category="marketing")
    scheduled = await outbound.add_raw(to=ALICE, category="marketing", state="scheduled")
    receipt = await outbound.add_raw(to=ALICE, category="transactional")
    other = await outbound.add_raw(to=BOB, category="marketing")
    await receive(service, clock, "Stop.")
    states = {r.id: r.state for r in await outbound.rows()}
    assert states == {promo: "blocked", scheduled: "blocked", receipt: "queued", other: "queued"}
    [message] = await inbound.since(db)
    assert message.intent == "stop"
    [event] = await optouts.history(db)
    assert (event.number, event.action, event.source, event.line, event.inbound_id) == (ALICE, "out", "sms", "line1",
                                                                                        message.id)
    kinds = [(t, p.get("number") or p.get("from")) for t, p in await events(db)]
    assert kinds == [("optout.created", ALICE), ("inbound.received", ALICE)]
    assert (await events(db))[1][1]["intent"] == "stop"


async def test_stop_with_scope_all_blocks_transactional_too(build: Build, clock: FakeClock) -> None:
    service, outbound = await build(optout={"scope": "all"})
    receipt = await outbound.add_raw(to=ALICE, category="transactional")
    await receive(service, clock, "ARRÊT svp")
    assert {r.id: r.state for r in await outbound.rows()} == {receipt: "blocked"}


async def test_stop_is_not_stored_without_taking_effect(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build()

    async def broken(conn: Any, number: str) -> int:
        raise RuntimeError("disk I/O error (test)")

    outbound.service.block_pending_to = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await receive(service, clock, "STOP")
    # Nothing committed: the SMS stays on the modem and is handed over again by the next sweep.
    assert await inbound.since(db) == [] and await optouts.history(db) == []


async def test_ordinary_sentence_with_stop_is_just_a_message(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build()
    await outbound.add_raw(to=ALICE, category="marketing")
    await receive(service, clock, "Don't stop, I'll be late")
    assert await optouts.history(db) == [] and [r.state for r in await outbound.rows()] == ["queued"]
    assert (await inbound.since(db))[0].intent is None


async def test_confirmation_at_most_once_a_day_and_start_resubscribes(build: Build, clock: FakeClock,
                                                                      db: Database) -> None:
    service, outbound = await build(optout={"confirm_text": "Désabonné. START pour revenir.",
                                            "resubscribe_text": "Réabonné."})
    await receive(service, clock, "STOP")
    await receive(service, clock, "STOP")            # already out: no second event, no second answer
    await receive(service, clock, "start")           # back in
    await receive(service, clock, "stop")            # out again, but confirmed less than 24 h ago
    sent = [(r.text, r.source, r.state) for r in await outbound.rows()]
    assert sent == [("Désabonné. START pour revenir.", "optout-confirm", "queued"),
                    ("Réabonné.", "optout-confirm", "queued")]
    actions = [e.action for e in reversed(await optouts.history(db))]
    assert actions == ["out", "in", "out"]
    assert [t for t, _ in await events(db)].count("optout.removed") == 1
    clock.advance(25 * 3600)
    await receive(service, clock, "START")
    await receive(service, clock, "STOP")
    assert [r.text for r in await outbound.rows()][-1] == "Désabonné. START pour revenir."


async def test_start_from_someone_not_opted_out_is_an_ordinary_message(build: Build, clock: FakeClock,
                                                                       db: Database) -> None:
    service, _ = await build()
    await receive(service, clock, "Oui")
    assert await optouts.history(db) == []
    assert (await inbound.since(db))[0].intent is None


async def test_auto_reply_rule_answers_on_the_thread_line(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build()
    rule = await service.rules.create(keyword="Horaires", reply="Ouvert du lundi au vendredi, 9h-18h.")
    await receive(service, clock, "horaires ?", line="line2")
    [row] = await outbound.rows()
    [message] = await inbound.since(db)
    assert (row.to, row.line, row.thread_id, row.source) == (ALICE, "line2", message.thread_id, "auto-reply")
    assert message.intent == "auto-reply"
    assert (await service.rules.get(rule.id)).hits == 1
    await receive(service, clock, "Quels sont vos horaires d'ouverture ?")  # a sentence, not the keyword
    assert len(await outbound.rows()) == 1


async def test_auto_reply_loop_is_cut_off_by_the_cap(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build(inbound={"autoreply_max": 3, "autoreply_window_minutes": 60})
    await service.rules.create(keyword="INFO", reply="INFO: tapez HORAIRES pour nos horaires")
    for _ in range(10):  # another robot answering every answer with INFO
        await receive(service, clock, "INFO")
    assert len(await outbound.rows()) == 3
    decisions = await autoreplies.sends(db, number=ALICE)
    held = [d.held_back for d in decisions if d.held_back]
    assert len(held) == 7 and all("cap reached" in h for h in held)
    assert len(await inbound.since(db)) == 10  # every inbound message is still kept
    clock.advance(3601)
    await receive(service, clock, "INFO")
    assert len(await outbound.rows()) == 4  # a new window: answered again


async def test_refused_auto_reply_never_undoes_the_inbound_message(build: Build, clock: FakeClock,
                                                                   db: Database) -> None:
    service, outbound = await build()
    await service.rules.create(keyword="INFO", reply="Bonjour")
    real = outbound.service.insert

    async def half_done_then_refused(conn: Any, batch: Any) -> Any:
        await real(conn, batch)  # rows written in the transaction, then the submit fails
        raise InvalidInput("messages[0].text", "refused (test)")

    outbound.service.insert = half_done_then_refused  # type: ignore[method-assign]
    await receive(service, clock, "info")
    assert len(await inbound.since(db)) == 1
    assert await outbound.rows() == []  # the half-done insert of the failed submit was rolled back
    [decision] = await autoreplies.sends(db)
    assert decision.held_back and "refused (test)" in decision.held_back


async def test_no_automatic_answer_to_names_and_short_codes(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build()
    await service.rules.create(keyword="INFO", reply="Bonjour")
    await receive(service, clock, "INFO", sender="InfoBanque")
    await receive(service, clock, "STOP", sender="36180")
    assert await outbound.rows() == [] and await optouts.history(db) == []
    assert {t.number for t in await threads.listing(db)} == {"InfoBanque", "36180"}


async def test_rules_validation(build: Build) -> None:
    service, _ = await build(modems=[{"name": "line1", "port": "/dev/ttyUSB0"}])
    with pytest.raises(InvalidInput, match="STOP word"):
        await service.rules.create(keyword="Stop", reply="x")
    with pytest.raises(InvalidInput, match="keyword"):
        await service.rules.create(keyword="  !! ", reply="x")
    with pytest.raises(InvalidInput, match="segments"):
        await service.rules.create(keyword="LONG", reply="é" * 2000)
    with pytest.raises(InvalidInput, match="no line named 'line9'"):
        await service.rules.create(keyword="INFO", reply="x", line="line9")
    await service.rules.create(keyword="INFO", reply="x")
    with pytest.raises(Conflict):
        await service.rules.create(keyword="info!", reply="y")
    specific = await service.rules.create(keyword="INFO", reply="z", line="line1")
    with pytest.raises(NotFound):
        await service.rules.delete(999)
    await service.rules.delete(specific.id)
    assert [r.keyword for r in await service.rules.all()] == ["INFO"]


async def test_calls_logged_with_missed_call_sms_rate_limited(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build(inbound={"missed_call_text": "Écrivez-nous par SMS.", "missed_call_every_hours": 24})
    start = clock.now()
    for number, by_us in ((ALICE, False), (ALICE, True), (None, False), ("0698765432", False)):
        await service.handle_call(CallEvent("line1", number, start, start + timedelta(seconds=8), 3, by_us))
    logged = list(reversed(await calls.listing(db)))
    assert [(c.number, c.hung_up_by, c.rings) for c in logged] == [
        (ALICE, "caller", 3), (ALICE, "us", 3), (None, "caller", 3), (BOB, "caller", 3)]
    sent = await outbound.rows()
    assert [r.to for r in sent] == [ALICE, BOB]  # Alice once in 24 h, withheld never
    assert logged[0].reply_message_id == sent[0].id and logged[1].reply_message_id is None
    assert [t for t, _ in await events(db)] == ["call.received"] * 4


async def test_reply_goes_out_on_the_thread_line(build: Build, clock: FakeClock, db: Database) -> None:
    service, outbound = await build()
    await receive(service, clock, "Bonjour, une question", line="line2")
    [thread] = await threads.listing(db)
    row = await service.reply(thread.id, "Bien sûr !", "marie")
    [stored] = await outbound.rows()
    assert (stored.id, stored.line, stored.thread_id, stored.to, stored.source) == (row.id, "line2", thread.id, ALICE,
                                                                                  "reply")
    after = await service.thread(thread.id)
    assert after.unread == 0 and after.last_direction == "out" and after.last_text == "Bien sûr !"
    with pytest.raises(NotFound):
        await service.reply(999, "x", None)
    with pytest.raises(InvalidInput, match="text"):
        await service.reply(thread.id, "  ", None)
    await receive(service, clock, "pub", sender="MaBanque")
    named = (await threads.listing(db, number_prefix="MaB"))[0]
    with pytest.raises(InvalidInput, match="cannot be answered"):
        await service.reply(named.id, "x", None)


async def test_incomplete_long_message_kept_by_the_service_after_the_timeout(build: Build, clock: FakeClock,
                                                                            db: Database) -> None:
    service, _ = await build(inbound={"reassembly_timeout_minutes": 10})
    await receive(service, clock, "Première partie, ", concat=(42, 2, 1))
    assert await service.flush_incomplete() == 0
    clock.advance(11 * 60)
    assert await service.flush_incomplete() == 1
    [message] = await inbound.since(db)
    assert message.text == "Première partie, [part 2/2 missing]" and message.parts_missing == (2,)
    [(kind, payload)] = await events(db)
    assert kind == "inbound.received" and payload["missing_parts"] == [2]

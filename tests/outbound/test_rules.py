"""Business rules with an injected clock: opt-outs, quiet hours, schedules across a restart, TTL,
per-line caps and cancel."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.clock import FakeClock, utc_iso
from gatewayd.errors import InvalidInput
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import messages as message_store
from gatewayd.store import optouts

from .conftest import Gateway, gateway, until

SUNDAY = datetime(2026, 1, 4, 10, 0, tzinfo=timezone.utc)       # 11:00 in Paris, a Sunday
MONDAY_0759 = datetime(2026, 1, 5, 6, 59, tzinfo=timezone.utc)  # 07:59 in Paris
MONDAY_0800 = datetime(2026, 1, 5, 7, 0, tzinfo=timezone.utc)
LABOUR_DAY = datetime(2026, 5, 1, 10, 0, tzinfo=timezone.utc)   # a Friday, public holiday in France
QUIET = {"quiet_hours": {"enabled": True}}


async def settle(gw: Gateway, clock: FakeClock | None = None, seconds: float = 0.0) -> None:
    """Move the fake clock, then wait until the dispatcher has done all it can at the new time."""
    if clock is not None and seconds:
        clock.advance(seconds)
    await gw.settle()


async def opt_out(gw: Gateway, number: str) -> None:
    async with gw.app[keys.DB].write() as conn:
        await optouts.record(conn, number=number, action="out", source="console", now=gw.app[keys.CLOCK].now())


async def test_opt_out_blocks_marketing_at_enqueue_and_again_before_sending(tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_0800 + timedelta(hours=2))
    async with gateway(tmp_path, clock=clock) as gw:
        await opt_out(gw, "+33612345678")
        _, body = await gw.post({"to": "+33612345678", "text": "promo", "category": "marketing"})
        assert body["messages"][0]["state"] == "blocked"
        _, body = await gw.post({"to": "+33612345678", "text": "your code is 1234", "category": "transactional"})
        await gw.wait_state(body["messages"][0]["id"], "delivered")  # scope "marketing": receipts still go

        later = utc_iso(clock.now() + timedelta(minutes=10))
        _, body = await gw.post({"to": "+33655555555", "text": "promo", "category": "marketing", "send_at": later})
        scheduled = body["messages"][0]
        assert scheduled["state"] == "scheduled"
        await opt_out(gw, "+33655555555")  # e.g. from the console, after it was queued
        await settle(gw, clock, 11 * 60)
        blocked = await gw.wait_state(scheduled["id"], "blocked")
        assert "before sending" in blocked["error"]
        assert gw.network.received_by("+33655555555") == []


async def test_stop_blocks_pending_messages_in_the_same_transaction(tmp_path: Path) -> None:
    clock = FakeClock(SUNDAY)  # marketing waits on Sundays
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, body = await gw.post({"to": ["+33612345678", "+33687654321"], "text": "promo", "category": "marketing"})
        outbound = gw.app[keys.OUTBOUND]
        async with gw.app[keys.DB].write() as conn:
            assert await outbound.block_pending_to(conn, ["+33612345678"]) == 1
        states = await gw.states()
        first, second = (m["id"] for m in body["messages"])
        assert states[first] == "blocked" and states[second] == "queued"


async def test_quiet_hours_hold_marketing_until_the_window_opens(tmp_path: Path) -> None:
    clock = FakeClock(SUNDAY)
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, promo = await gw.post({"to": "+33612345678", "text": "soldes", "category": "marketing"})
        _, receipt = await gw.post({"to": "+33687654321", "text": "reçu", "category": "transactional"})
        await gw.wait_state(receipt["messages"][0]["id"], "delivered")
        promo_id = promo["messages"][0]["id"]
        clock.set(MONDAY_0759)
        await settle(gw)
        assert (await gw.message(promo_id))["state"] == "queued"
        clock.set(MONDAY_0800)
        await settle(gw)
        await gw.wait_state(promo_id, "delivered")


async def test_no_marketing_on_public_holidays(tmp_path: Path) -> None:
    clock = FakeClock(LABOUR_DAY)
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, promo = await gw.post({"to": "+33612345678", "text": "muguet", "category": "marketing"})
        await settle(gw)
        assert (await gw.message(promo["messages"][0]["id"]))["state"] == "queued"
        clock.set(LABOUR_DAY + timedelta(days=1))  # Saturday 2 May, 12:00 in Paris
        await settle(gw)
        await gw.wait_state(promo["messages"][0]["id"], "delivered")


async def test_ttl_expires_instead_of_flooding_out_late(tmp_path: Path) -> None:
    clock = FakeClock(SUNDAY)
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, promo = await gw.post({"to": "+33612345678", "text": "flash sale", "category": "marketing", "ttl": 3600})
        await settle(gw, clock, 2 * 3600)
        expired = await gw.wait_state(promo["messages"][0]["id"], "expired")
        assert "time to live" in expired["error"]
        clock.set(MONDAY_0800)
        await settle(gw)
        assert gw.network.received == []


async def test_scheduled_send_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_0800)
    async with gateway(tmp_path, clock=clock) as gw:
        when = utc_iso(MONDAY_0800 + timedelta(hours=1))
        _, body = await gw.post({"to": "+33612345678", "text": "rappel", "category": "transactional", "send_at": when})
        message_id = body["messages"][0]["id"]
        assert body["messages"][0]["state"] == "scheduled"
        await settle(gw, clock, 60)
        assert (await gw.message(message_id))["state"] == "scheduled"
    clock.set(MONDAY_0800 + timedelta(hours=1, seconds=1))
    async with gateway(tmp_path, clock=clock) as gw:
        await settle(gw)
        done = await gw.wait_state(message_id, "delivered")
        assert done["send_at"] == when and gw.network.received_by("+33612345678")


async def test_per_line_caps_count_segments_per_minute(tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_0800 + timedelta(seconds=5))
    async with gateway(tmp_path, clock=clock, sections={"outbound": {"per_line_per_minute": 4}}) as gw:
        _, long = await gw.post({"to": "+33600000001", "text": "x" * 300, "category": "transactional"})  # 2 segments
        _, body = await gw.post({"to": [f"+3360000001{i}" for i in range(4)], "text": "hi",
                                 "category": "transactional"})
        await settle(gw)
        await settle(gw)
        states = await gw.states()
        assert sum(1 for s in states.values() if s in ("sent", "delivered")) == 3  # 2 + 1 + 1 segments
        info = gw.app[keys.DISPATCHER].line_info("line1")
        assert info["caps"]["minute"] == {"used": 4, "limit": 4}
        await settle(gw, clock, 60)
        await settle(gw)
        assert sum(1 for s in (await gw.states()).values() if s in ("sent", "delivered")) == 5
        assert len(gw.network.received) == 5


async def test_cancel_only_what_waits(tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_0800)
    async with gateway(tmp_path, clock=clock) as gw:
        when = utc_iso(MONDAY_0800 + timedelta(hours=3))
        _, body = await gw.post({"to": "+33612345678", "text": "later", "category": "transactional", "send_at": when})
        message_id = body["messages"][0]["id"]
        resp = await gw.client.post(f"/api/v1/messages/{message_id}/cancel", headers=gw.auth)
        assert resp.status == 200 and (await resp.json())["state"] == "canceled"
        resp = await gw.client.post(f"/api/v1/messages/{message_id}/cancel", headers=gw.auth)
        assert resp.status == 409 and "canceled" in (await resp.json())["detail"]
        resp = await gw.client.post("/api/v1/messages/999999/cancel", headers=gw.auth)
        assert resp.status == 404
        await settle(gw, clock, 4 * 3600)
        assert gw.network.received == []


async def test_stop_confirmation_goes_out_with_scope_all_and_nothing_else_does(tmp_path: Path) -> None:
    # scope "all": every category is blocked by an opt-out, except the confirmation of that opt-out.
    sections = {"optout": {"scope": "all", "confirm_text": "Vous ne recevrez plus de SMS."}}
    async with gateway(tmp_path, sections=sections) as gw:
        stopper = "+33612340102"
        await gw.modems[0].deliver_sms(stopper, "STOP")
        await until(lambda: len(gw.network.received_by(stopper)) == 1, 15, "the STOP confirmation")
        assert gw.network.received_by(stopper)[0].text == "Vous ne recevrez plus de SMS."
        async with gw.app[keys.DB].read() as conn:
            assert await optouts.is_opted_out(conn, stopper)
            [confirm] = await message_store.list_page(conn, limit=10, to=stopper)
        assert confirm.source == "optout-confirm"
        # The network has it before the modem's +CMGS answer is committed: wait for the ledger.
        await gw.wait_state(confirm.id, "sent", "delivered")
        # Anything else to that number is still blocked, transactional included (scope "all").
        _, body = await gw.post({"to": stopper, "text": "your code is 1234", "category": "transactional"})
        assert body["messages"][0]["state"] == "blocked"
        await gw.settle()
        assert len(gw.network.received_by(stopper)) == 1


async def test_a_second_stop_does_not_block_the_pending_confirmation(tmp_path: Path) -> None:
    clock = FakeClock(MONDAY_0800)
    async with gateway(tmp_path, clock=clock, sections={"optout": {"scope": "all"}}) as gw:
        number = "+33612340102"
        later = clock.now() + timedelta(minutes=5)
        outbound = gw.app[keys.OUTBOUND]
        confirm, other = await outbound.submit([
            NewMessage(to=number, text="Désabonné.", source="optout-confirm", send_at=later),
            NewMessage(to=number, text="Rappel RDV", source="api", send_at=later)])
        await opt_out(gw, number)
        async with gw.app[keys.DB].write() as conn:
            assert await outbound.block_pending_to(conn, [number]) == 1   # the STOP transaction's sweep
        states = await gw.states()
        assert states[confirm.id] == "scheduled" and states[other.id] == "blocked"
        # ...and the dispatcher's last-moment check lets it through too.
        await settle(gw, clock, 6 * 60)
        await gw.wait_state(confirm.id, "sent", "delivered")
        assert [r.text for r in gw.network.received_by(number)] == ["Désabonné."]


async def test_bulk_insert_stores_exactly_what_submit_returns_and_a_bad_message_stores_nothing(
        tmp_path: Path) -> None:
    from gatewayd.outbound.service import OutboundService
    from gatewayd.store.db import Database
    from gatewayd.store.messages import STAGE_FROM

    from .conftest import make_settings

    clock = FakeClock(MONDAY_0800)
    settings = make_settings(tmp_path, optout={"scope": "marketing"})
    db = Database(settings.storage.database)
    await db.open()
    try:
        outbound = OutboundService(db, settings, clock)
        async with db.write() as conn:
            await optouts.record(conn, number="+33600000007", action="out", source="console", now=clock.now())
        later = clock.now() + timedelta(hours=3)
        batch = [NewMessage(to=f"+336000000{i:02d}", text=f"Promo {i} 😀" * (1 + i % 4),
                            category=Category.MARKETING if i % 2 else Category.TRANSACTIONAL,
                            send_at=later if i % 5 == 0 else None, ttl=timedelta(hours=1) if i % 7 == 0 else None,
                            line="line1" if i % 3 == 0 else None, priority=i % 11, source="campaign")
                 for i in range(3 * STAGE_FROM)]
        returned = await outbound.submit(batch)
        async with db.read() as conn:
            stored = await message_store.get_many(conn, [r.id for r in returned])
        assert stored == returned  # every column, times included, in order
        assert {r.state for r in stored} == {"queued", "scheduled", "blocked"}
        assert [r.to for r in stored if r.state == "blocked"] == ["+33600000007"]
        # One bad message at the end of a staged batch: nothing of the batch is stored, and the
        # next batch is not polluted by rows left over in the staging table.
        bad = [*batch[:STAGE_FROM], NewMessage(to="0612", text="x")]
        with pytest.raises(InvalidInput, match=rf"messages\[{STAGE_FROM}\]\.to"):
            await outbound.submit(bad)
        again = await outbound.submit(batch[:STAGE_FROM])
        async with db.read() as conn:
            assert sum((await message_store.state_counts(conn)).values()) == 4 * STAGE_FROM
            assert await message_store.get_many(conn, [r.id for r in again]) == again
    finally:
        await db.close()


async def test_marketing_waits_while_the_clock_is_behind_what_was_already_recorded(tmp_path: Path) -> None:
    # A Pi without RTC reboots at the time fake-hwclock saved, here an hour before the last message:
    # 09:00 on a Monday is inside the marketing window, but the clock cannot be believed yet.
    clock = FakeClock(MONDAY_0800 + timedelta(hours=3))
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, first = await gw.post({"to": "+33687654321", "text": "reçu", "category": "transactional"})
        await gw.wait_state(first["messages"][0]["id"], "delivered")
    clock.set(MONDAY_0800 + timedelta(hours=2))
    async with gateway(tmp_path, clock=clock, sections=QUIET) as gw:
        _, promo = await gw.post({"to": "+33612345678", "text": "soldes", "category": "marketing"})
        _, receipt = await gw.post({"to": "+33611111111", "text": "code 1234", "category": "transactional"})
        await gw.wait_state(receipt["messages"][0]["id"], "delivered")  # immediate sends do not wait
        await settle(gw)
        assert (await gw.message(promo["messages"][0]["id"]))["state"] == "queued"
        clock.set(MONDAY_0800 + timedelta(hours=3, minutes=1))  # NTP sets the clock
        await settle(gw)
        await gw.wait_state(promo["messages"][0]["id"], "delivered")


def test_clock_sanity_refuses_1970_and_the_past_then_trusts_for_good() -> None:
    from gatewayd.clock import RELEASE_FLOOR, ClockSanity

    recorded = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
    sanity = ClockSanity(recorded)
    assert not sanity.trusted(datetime(1970, 1, 1, tzinfo=timezone.utc))
    assert not sanity.trusted(recorded - timedelta(minutes=1))
    assert sanity.trusted(recorded)
    assert sanity.trusted(recorded - timedelta(minutes=5))  # once set, a later small step back is not a boot
    assert ClockSanity(datetime(2000, 1, 1, tzinfo=timezone.utc)).floor == RELEASE_FLOOR

"""Inbound end to end: the app, its dispatcher and the real driver over simulated modems on ptys."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gatewayd import keys
from gatewayd.modem.segments import count_segments
from gatewayd.modem.sim import SimNetwork
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import inbound as inbound_store
from gatewayd.store import messages as message_store
from gatewayd.store import optouts
from gatewayd.store.db import Database

from tests.waiting import until_value

from .simkit import Box, box, simulated_modems, stored, until

STOPPER = "+33639980102"
OTHER = "+33639980101"
ROBOT = "+33639980177"


async def test_stop_during_a_bulk_send_stops_the_very_next_message(tmp_path: Path) -> None:
    net = SimNetwork()
    net.add_subscriber(STOPPER, reply_stop=True, reply_delay=0.05)
    net.add_subscriber(OTHER)
    async with simulated_modems(tmp_path, net) as modems, box(
            tmp_path, modems, outbound={"spacing_min_seconds": 0.03, "spacing_max_seconds": 0.05}) as gw:
        modems[0].set_latency(0.02)
        bulk = [NewMessage(to=number, text=f"Promo n°{i}", category=Category.MARKETING, priority=10, source="campaign")
                for i in range(25) for number in (STOPPER, OTHER)]
        rows = await gw.app[keys.OUTBOUND].submit(bulk)
        to_stopper = {r.id for r in rows if r.to == STOPPER}
        await until(lambda: len(net.received_by(OTHER)) == 25, 30, "the bulk to the other subscriber")
        db = gw.app[keys.DB]
        async with db.read() as conn:
            assert await optouts.is_opted_out(conn, STOPPER)
        [event] = await optouts.history(db, number=STOPPER)
        assert event.source == "sms" and event.line == "line1" and event.inbound_id is not None
        got = net.received_by(STOPPER)
        # Only what was already on its way when the STOP was committed may still arrive: one line,
        # one message in flight at most.
        late = [r for r in got if r.at > event.created_at]
        assert 1 <= len(got) < 25 and len(late) <= 1, (len(got), late)
        states = {mid: state for mid, state in (await _states(db)).items() if mid in to_stopper}
        assert set(states.values()) <= {"sent", "delivered", "blocked"}
        assert sum(s in ("sent", "delivered") for s in states.values()) == len(got)  # nothing lost, nothing twice
        assert list(states.values()).count("blocked") == 25 - len(got)
        first_stop = (await inbound_store.since(db))[0]
        assert first_stop.sender == STOPPER and first_stop.intent == "stop"


async def _states(db: Database) -> dict[int, str]:
    async with db.read() as conn:
        rows = await message_store.list_page(conn, limit=100_000)
    return {r.id: r.state for r in rows}


async def test_long_message_out_of_order_and_across_a_restart(tmp_path: Path) -> None:
    net = SimNetwork()
    long_text = "Bonjour, je voudrais savoir si ma commande est partie car je n'ai rien recu depuis lundi. " * 4
    assert count_segments(long_text).segments == 3
    async with simulated_modems(tmp_path, net) as modems:
        modem = modems[0]
        async with box(tmp_path, modems) as gw:
            await modem.deliver_sms(OTHER, long_text, order=[3, 1, 2], reference=77)
            await until_messages(gw, 1)
            [message] = await gw.inbound()
            assert message["text"] == long_text and message["parts"] == 3 and "missing_parts" not in message
            # Another long message: part 2 arrives, then the daemon stops before part 1 comes.
            await modem.deliver_sms(STOPPER, long_text.upper(), order=[2], reference=78)
            await until(lambda: stored(modem) == 0, 10, "part 2 read and deleted")
            assert len(await gw.inbound()) == 1
        async with box(tmp_path, modems) as gw:  # same database, same modem: a restart
            await modem.deliver_sms(STOPPER, long_text.upper(), order=[1, 3], reference=78)
            await until_messages(gw, 2)
            second = (await gw.inbound())[1]
            assert second["text"] == long_text.upper() and second["from"] == STOPPER
            assert stored(modem) == 0


async def until_messages(gw: Box, count: int, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while len(await gw.inbound()) < count:
        if loop.time() > deadline:
            raise AssertionError(f"fewer than {count} inbound messages")
        await asyncio.sleep(0.05)


async def test_twin_sms_in_one_second_and_a_garbage_pdu_are_all_stored_and_deleted(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_modems(tmp_path, net) as modems, box(tmp_path, modems) as gw:
        modem = modems[0]
        pdus = await modem.deliver_sms(OTHER, "Rendez-vous confirmé")
        await until_messages(gw, 1)
        # The same sender sends the same text again in the same second: byte for byte the same
        # SMS (it lands in the slot the first one left), and an alarm panel's pair lands at once.
        await modem.deliver_pdus(pdus)
        await until_messages(gw, 2)
        await modem.deliver_pdus(pdus + pdus)
        await modem.deliver_pdus(["07913366003000F0040B913336899801F100FF"])  # truncated: no text at all
        await until_messages(gw, 5)
        # Every SMS is committed before the modem's copy is deleted: once the storage is empty,
        # the ledger holds all there will be.
        await until(lambda: stored(modem) == 0, 10, "modem storage emptied")
        messages = await gw.inbound()
        assert [m["text"] for m in messages] == ["Rendez-vous confirmé"] * 4 + [""]
        garbage = messages[4]
        assert "truncated" in garbage["undecodable"] and garbage["thread_id"] is None and garbage["from"] == ""
        detail = await gw.get(f"/api/v1/inbound/{garbage['id']}")
        assert detail["raw_parts"][0]["pdu"].upper().endswith("040B913336899801F100FF")


async def test_calls_with_and_without_automatic_hang_up(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_modems(tmp_path, net, lines=2) as modems, box(
            tmp_path, modems, modem_extra={"line2": {"auto_hangup": True}},
            inbound={"missed_call_text": "Nous ne prenons pas les appels : écrivez-nous par SMS."}) as gw:
        let_ring = await modems[0].ring(OTHER, rings=3)
        hung = await modems[1].ring(STOPPER, rings=6)
        assert not let_ring.hung_up and let_ring.rings == 3
        assert hung.hung_up and hung.rings < 6
        calls: list[dict[str, object]] = []

        async def two_calls() -> bool:
            calls[:] = (await gw.get("/api/v1/calls"))["calls"]
            return len(calls) == 2

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not await two_calls():
            assert loop.time() < deadline, "calls not logged"
            await asyncio.sleep(0.05)
        by_line = {c["modem"]: c for c in calls}
        assert by_line["line1"]["hung_up_by"] == "caller" and by_line["line1"]["from"] == OTHER
        assert by_line["line2"]["hung_up_by"] == "us" and by_line["line2"]["from"] == STOPPER
        await until(lambda: len(net.received) == 2, 10, "missed-call SMS")
        assert {(r.recipient, r.line) for r in net.received} == {(OTHER, "line1"), (STOPPER, "line2")}


async def test_two_robots_answering_each_other_are_cut_off_by_the_cap(tmp_path: Path) -> None:
    net = SimNetwork()
    said = iter(range(1, 1000))
    # Another machine that answers everything with INFO. Its answers differ ("INFO", "INFO!"…):
    # the simulated network stamps them within one second, and the same text from the same sender
    # with the same SMSC second IS the same message by the dedup rule.
    net.add_subscriber(ROBOT, reply=lambda text: "INFO" + "!" * next(said), reply_delay=0.02)
    async with simulated_modems(tmp_path, net) as modems, box(
            tmp_path, modems, inbound={"autoreply_max": 4, "autoreply_window_minutes": 60}) as gw:
        status, _ = await gw.post("/api/v1/auto-replies", {"keyword": "INFO", "reply": "Tapez HORAIRES ou ADRESSE"})
        assert status == 201
        await modems[0].deliver_sms(ROBOT, "INFO")
        await until(lambda: len(net.received_by(ROBOT)) == 4, 15, "four auto-replies")
        await until_messages(gw, 5)

        async def answers() -> list[dict[str, Any]]:
            return (await gw.get("/api/v1/auto-replies/log"))["answers"]  # type: ignore[no-any-return]

        # The fifth INFO was held back: nothing went out that the robot could answer, the loop is over.
        await until_value(answers, lambda log: len(log) == 5 and log[0]["held_back"] is not None, 10,
                          "the fifth answer held back")
        assert len(net.received_by(ROBOT)) == 4
        assert len(await gw.inbound()) == 5
        log = (await gw.get("/api/v1/auto-replies/log"))["answers"]
        assert [a["held_back"] is None for a in reversed(log)] == [True] * 4 + [False]
        assert "cap reached" in log[0]["held_back"]


async def test_reply_from_a_thread_goes_out_on_the_thread_line(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_modems(tmp_path, net, lines=2) as modems, box(tmp_path, modems) as gw:
        await modems[1].deliver_sms(OTHER, "Bonjour, vous êtes ouverts samedi ?")
        await until_messages(gw, 1)
        [thread] = (await gw.get("/api/v1/threads"))["threads"]
        assert thread["modem"] == "line2" and thread["unread"] == 1
        status, body = await gw.post(f"/api/v1/threads/{thread['id']}/reply", {"text": "Oui, de 9h à 12h."})
        assert status == 202, body
        await until(lambda: len(net.received) == 1, 10, "the reply")
        assert (net.received[0].line, net.received[0].recipient) == ("line2", OTHER)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            convo = (await gw.get(f"/api/v1/threads/{thread['id']}/messages"))["messages"]
            if convo[0]["state"] == "delivered":
                break
            assert loop.time() < deadline, convo
            await asyncio.sleep(0.05)
        assert [(m["direction"], m["modem"]) for m in convo] == [("out", "line2"), ("in", "line2")]

"""A campaign running over three simulated lines while one of them meets a fault: unplugged and
replugged, hung, a storm of transient +CMS errors, storage full, deregistered. Afterwards every
message is final, none reached the network twice, `unknown` only for the send in flight at the
fault, and the healthy lines kept sending while the faulty one could not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gatewayd import keys

from .kit import Rig, check_ledger, rig, until

RECIPIENTS = 90
HEALTHY = ("line2", "line3")

pytestmark = pytest.mark.timeout(120)


def _counts(r: Rig) -> dict[str, int]:
    return {line: r.received_on(line) for line in HEALTHY}


async def _healthy_lines_carry_on(r: Rig, base: dict[str, int], more: int = 5) -> None:
    """Since `base` (taken when the fault was injected) each healthy line sent `more` messages."""
    await until(lambda: all(r.received_on(line) >= base[line] + more for line in HEALTHY), 30,
                f"{more} more messages on each healthy line during the fault")


async def _line_sends_again(r: Rig, line: str, to: str) -> None:
    """A message pinned to `line` is delivered through it (the line really came back)."""
    body = await r.call("POST", "/api/v1/messages", {"to": to, "text": f"retour de {line}",
                                                     "category": "transactional", "modem": line})
    message_id = body["messages"][0]["id"]
    for _ in range(600):
        message = await r.call("GET", f"/api/v1/messages/{message_id}")
        if message["state"] in ("sent", "delivered"):
            break
        await asyncio.sleep(0.05)
    assert message["state"] in ("sent", "delivered") and message["modem"] == line, message
    assert [x.line for x in r.network.received if x.recipient == to] == [line]


async def _line1_back_and_campaign_drained(r: Rig, cid: int, what: str, number: str) -> None:
    """After line1's fault ends: it is ready again, the campaign drains, line1 sends to `number`, and
    the ledger holds (at most the one send in flight at the fault is `unknown`)."""
    await until(lambda: "line1" in r.ready(), 30, what)
    rows = await r.drained(cid, RECIPIENTS)
    await _line_sends_again(r, "line1", number)
    states = check_ledger(await r.rows(), r.network, faulted={"line1": 1})
    assert len(rows) == RECIPIENTS and states["unknown"] <= 1, states


async def test_unplugged_line_replugged_at_the_same_path(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        cid, _ = await r.start_campaign(RECIPIENTS)
        await until(lambda: r.received_on("line1") >= 3, 30, "line1 sending")
        base = _counts(r)
        await r.modems[0].unplug()
        at_unplug = r.received_on("line1")
        await until(lambda: "line1" not in r.ready(), 15, "line1 seen gone")
        await _healthy_lines_carry_on(r, base)
        assert r.received_on("line1") == at_unplug  # nothing goes out of an unplugged modem
        await r.modems[0].replug()
        await _line1_back_and_campaign_drained(r, cid, "line1 back after the replug", "+33611199001")


async def test_hung_line_is_set_aside_and_recovers(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        cid, _ = await r.start_campaign(RECIPIENTS)
        await until(lambda: r.received_on("line1") >= 3, 30, "line1 sending")
        base = _counts(r)
        r.modems[0].hang()
        at_hang = r.received_on("line1")
        await until(lambda: "line1" not in r.ready(), 15, "line1 seen hung")
        await _healthy_lines_carry_on(r, base)
        # A hung modem passes nothing on, except the SMS it was already transmitting (the simulator,
        # like a real modem, may hang after the radio send and before answering +CMGS).
        assert r.received_on("line1") <= at_hang + 1
        r.modems[0].unhang()
        await _line1_back_and_campaign_drained(r, cid, "line1 recovered", "+33611199002")


async def test_transient_cms_error_storm_is_retried_without_loss(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        line1, line2, line3 = r.modems
        cid, _ = await r.start_campaign(RECIPIENTS)
        await until(lambda: len(r.network.received) >= 6, 30, "campaign sending")
        # Congestion and "network out of order" after the PDU, "resources unavailable" at AT+CMGS.
        line1.fail_next(42, times=12)
        line2.fail_next(38, times=6)
        line2.fail_next(47, times=4, stage="command")
        injected = 22
        base = r.received_on("line3")
        await until(lambda: not (line1.faults.fail_submit or line2.faults.fail_submit or line2.faults.fail_command),
                    30, "every injected error consumed")
        assert r.received_on("line3") > base  # the clean line went on meanwhile
        rows = await r.drained(cid, RECIPIENTS)
        states = check_ledger(rows, r.network, faulted={})
        # A +CMS error means "not sent": retried, never failed nor unknown, each error one attempt.
        assert set(states) <= {"sent", "delivered"}, states
        assert sum(x.attempts for x in rows) == injected, [(x.id, x.attempts, x.error) for x in rows if x.attempts]
        assert len(r.network.received) == RECIPIENTS


async def test_storage_full_line_keeps_sending_and_frees_its_inbox(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        line2 = r.modems[1]
        cid, _ = await r.start_campaign(RECIPIENTS)
        await until(lambda: r.received_on("line2") >= 3, 30, "line2 sending")
        assert line2.storage_full() > 0
        await line2.deliver_sms("+33611188001", "Je confirme le rendez-vous")
        base = r.received_on("line2")
        await until(lambda: r.received_on("line2") >= base + 5, 30, "line2 sending with its storage full")
        inbound: list[dict[str, object]] = []

        async def poll_inbound() -> bool:
            inbound[:] = (await r.call("GET", "/api/v1/inbound?limit=500"))["messages"]
            return any(m["text"] == "Je confirme le rendez-vous" for m in inbound)

        for _ in range(600):
            if await poll_inbound():
                break
            await asyncio.sleep(0.05)
        assert any(m["text"] == "Je confirme le rendez-vous" and m["modem"] == "line2" for m in inbound), (
            len(inbound), r.network.pending("line2"), line2.state.storage(line2.state.cpms[2]).free_index(),
            r.app[keys.POOL].status("line2"))
        assert r.network.pending("line2") == 0
        rows = await r.drained(cid, RECIPIENTS)
        states = check_ledger(rows, r.network, faulted={})
        assert set(states) <= {"sent", "delivered"}, states


async def test_deregistered_line_pauses_and_resumes(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        cid, _ = await r.start_campaign(RECIPIENTS)
        await until(lambda: r.received_on("line1") >= 3, 30, "line1 sending")
        base = _counts(r)
        r.modems[0].deregister()
        at_loss = r.received_on("line1")
        await until(lambda: "line1" not in r.ready(), 15, "line1 seen off the network")
        await _healthy_lines_carry_on(r, base)
        assert r.received_on("line1") == at_loss
        r.modems[0].register()
        await until(lambda: "line1" in r.ready(), 30, "line1 registered again")
        rows = await r.drained(cid, RECIPIENTS)
        await _line_sends_again(r, "line1", "+33611199003")
        states = check_ledger(await r.rows(), r.network, faulted={"line1": 1})
        # Off the network the modem refuses the submit (+CMS 331): retried, so nothing is unknown.
        assert states["unknown"] == 0 and len(rows) == RECIPIENTS, states

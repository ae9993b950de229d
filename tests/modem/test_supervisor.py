"""Supervisor faults over real ptys: hang and recovery, unplug/replug, PIN, SIM swap, clean stop."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from pathlib import Path

import pytest

from gatewayd.modem.driver import SimIdentity
from gatewayd.modem.errors import LineUnavailableError, OutcomeUnknownError, TransientSendError
from gatewayd.modem.events import LineState
from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.pool import ModemPool
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.supervisor import backoff_delay
from gatewayd.modem.timings import FAST_TEST_TIMINGS, ModemTimings

from .linekit import RecordingSink, is_state, settings_for, simulated_pool, until


def test_backoff_is_capped_exponential_with_jitter() -> None:
    real = ModemTimings()
    rng = random.Random(1)
    delays = [backoff_delay(n, real, rng) for n in range(12)]
    assert all(0.5 * min(1.8 ** n, 60) <= d <= min(1.8 ** n, 60) for n, d in enumerate(delays))
    assert max(delays) <= 60 and delays[-1] >= 30
    assert backoff_delay(20, FAST_TEST_TIMINGS, rng) <= FAST_TEST_TIMINGS.backoff_cap


async def test_hung_modem_degrades_then_recovers(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim800") as (pool, modems, _sink, _):
        sup = pool.supervisor("line1")
        modems[0].hang()
        await until(lambda: sup.state is not LineState.READY, 8, "hang noticed")
        assert pool.ready_lines() == []
        with pytest.raises(LineUnavailableError):
            await pool.send_part("line1", encode_submit("+33612345678", "x", reference=1)[0])
        modems[0].unhang()
        await until(is_state(pool, "line1", LineState.READY), 15, "recovered")
        assert sup.recoveries + sup.reconnects >= 1
        await pool.send_part("line1", encode_submit("+33612345678", "apres", reference=2)[0])


async def test_long_hang_escalates_to_reopen_then_recovers(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim7600") as (pool, modems, _sink, _):
        sup = pool.supervisor("line1")
        modems[0].hang()
        await until(lambda: sup.reconnects >= 1, 20, "escalation to a reopen")
        assert sup.recoveries >= 1 and pool.ready_lines() == []
        modems[0].unhang()
        await until(is_state(pool, "line1", LineState.READY), 20, "recovered after reopen")


async def test_hang_during_submit_is_outcome_unknown_and_line_comes_back(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "ec25", network=net) as (pool, modems, _sink, _):
        modems[0].set_latency(0.3)
        task = asyncio.create_task(pool.send_part("line1", encode_submit("+33612345678", "a", reference=1)[0]))
        await until(lambda: modems[0].pdus_received == 1, 10, "the PDU written (its answer is 0.3 s away)")
        modems[0].hang()
        with pytest.raises(OutcomeUnknownError):
            await task
        modems[0].unhang()
        modems[0].set_latency(0.0)
        await until(is_state(pool, "line1", LineState.READY), 15, "ready after resync")
        await pool.send_part("line1", encode_submit("+33612345678", "b", reference=2)[0])
        assert "b" in [r.text for r in await net.wait_received(1, timeout=5)]


async def test_unplug_replug_same_path_reconnects(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim7600", network=net) as (pool, modems, sink, _):
        sup = pool.supervisor("line1")
        await modems[0].unplug()
        await until(lambda: sup.state in (LineState.DISCONNECTED, LineState.OPENING), 5, "disconnect seen")
        with pytest.raises(LineUnavailableError):
            await pool.send_part("line1", encode_submit("+33612345678", "x", reference=1)[0])
        await until(lambda: sup.reconnects >= 2, 10, "a few failed reopen attempts with backoff")
        await modems[0].replug()
        await until(is_state(pool, "line1", LineState.READY), 15, "reconnected")
        assert "port" in (sink.statuses[-2].last_error or "") or sup.reconnects >= 1
        await pool.send_part("line1", encode_submit("+33612345678", "retour", reference=2)[0])
        assert [r.text for r in await net.wait_received(1, timeout=5)] == ["retour"]


async def test_wrong_pin_is_entered_once_and_never_again(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim800", modem_kwargs={"pin": "1234"},
                              settings_kwargs={"pin": "0000"}, wait_ready=False) as (pool, modems, _s, _):
        sup = pool.supervisor("line1")
        await until(lambda: sup.state is LineState.DEGRADED and "PIN" in (sup.last_error or ""), 8, "PIN refusal")
        assert "not retried" in (sup.last_error or "")
        await modems[0].unplug()
        await modems[0].replug()
        await until(lambda: sup.reconnects >= 1 and sup.state is LineState.DEGRADED, 8, "re-init after replug")
        await asyncio.sleep(0.3)
        attempts = [c for c in modems[0].command_log if c.upper().startswith("+CPIN=")]
        assert len(attempts) == 1, attempts
        assert pool.ready_lines() == []


async def test_missing_and_correct_pin(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path / "a", "ec25", modem_kwargs={"pin": "4321"},
                              wait_ready=False) as (pool, _m, _s, _):
        sup = pool.supervisor("line1")
        await until(lambda: "none is configured" in (sup.last_error or ""), 8, "missing PIN reported")
    async with simulated_pool(tmp_path / "b", "ec25", modem_kwargs={"pin": "4321"},
                              settings_kwargs={"pin": "4321"}) as (pool, _m, _s, _):
        assert pool.status("line1").state is LineState.READY


async def test_sim_swap_is_reported_and_blocks_sending(tmp_path: Path) -> None:
    bound: list[tuple[str, SimIdentity]] = []
    known = {"line1": SimIdentity(iccid="8933019999999999999", imsi="208019999999999", imei=None)}
    async with simulated_pool(tmp_path, "sim800", wait_ready=False,
                              pool_kwargs={"known_sims": known,
                                           "on_sim_bound": lambda line, ident: bound.append((line, ident))}) as (
            pool, modems, _sink, _):
        await until(lambda: pool.status("line1").sim_mismatch is not None, 8, "mismatch")
        status = pool.status("line1")
        assert "8933019999999999999" in (status.sim_mismatch or "")
        assert status.state is LineState.DEGRADED and pool.ready_lines() == []
        with pytest.raises(LineUnavailableError, match="SIM changed"):
            await pool.send_part("line1", encode_submit("+33612345678", "x", reference=1)[0])
        pool.accept_sim("line1")
        assert pool.ready_lines() == ["line1"]
        assert bound == [("line1", SimIdentity(modems[0].state.iccid, modems[0].state.imsi, modems[0].state.imei))]


async def test_first_sim_is_bound(tmp_path: Path) -> None:
    bound: list[tuple[str, SimIdentity]] = []
    async with simulated_pool(tmp_path, "e3372", pool_kwargs={
            "on_sim_bound": lambda line, ident: bound.append((line, ident))}) as (pool, modems, _s, _):
        assert bound and bound[0][1].iccid == modems[0].state.iccid


async def test_absent_port_then_plugged_later(tmp_path: Path) -> None:
    net = SimNetwork()
    sink = RecordingSink()
    modem = SimModem(net, name="line1", profile="generic", link=tmp_path / "line1")
    pool = ModemPool([settings_for(modem)], sink, timings=FAST_TEST_TIMINGS)
    await pool.start()
    try:
        await until(lambda: pool.supervisor("line1").reconnects >= 2, 5, "retries with backoff")
        assert pool.status("line1").state in (LineState.DISCONNECTED, LineState.OPENING)
        assert "line1" in (pool.status("line1").last_error or "")
        await modem.start()
        await until(is_state(pool, "line1", LineState.READY), 10, "ready once plugged")
    finally:
        await pool.stop()
        await modem.stop()
        net.close()


async def test_stop_leaves_no_tasks_and_lets_a_send_finish(tmp_path: Path) -> None:
    net = SimNetwork()
    timings = replace(FAST_TEST_TIMINGS, stop_grace=2.0)
    async with simulated_pool(tmp_path, "sim800", "ec25", network=net, timings=timings) as (pool, modems, _s, _):
        modems[0].set_latency(0.3)
        send = asyncio.create_task(pool.send_part("line1", encode_submit("+33612345678", "fin", reference=9)[0]))
        await until(lambda: any(c.upper().startswith("+CMGS=") for c in modems[0].command_log), 10,
                    "the send under way")
        await pool.stop()
        assert isinstance(await send, int)  # the transaction in flight was allowed to finish
        assert [r.text for r in await net.wait_received(1, timeout=5)] == ["fin"]
        with pytest.raises(LineUnavailableError):
            await pool.send_part("line2", encode_submit("+33612345678", "x", reference=1)[0])
    left = [t for t in asyncio.all_tasks() if t.get_name().startswith("modem-line")]
    assert left == []


async def test_a_send_that_gets_no_answer_shows_the_line_degraded_at_once_with_the_reason(tmp_path: Path) -> None:
    # Health probes far apart (as in production, 30 s): the failed send itself must tell.
    timings = replace(FAST_TEST_TIMINGS, health_interval=30.0)
    async with simulated_pool(tmp_path, "sim800", timings=timings) as (pool, modems, _sink, _):
        modems[0].hang()
        with pytest.raises((LineUnavailableError, TransientSendError)):  # no prompt: nothing sent
            await pool.send_part("line1", encode_submit("+33612345678", "x", reference=1)[0])
        await until(is_state(pool, "line1", LineState.DEGRADED), 3, "degraded right after the failed send")
        status = pool.status("line1")
        assert status.last_error is not None and "not answering" in status.last_error
        assert pool.ready_lines() == []
        modems[0].unhang()
        await until(is_state(pool, "line1", LineState.READY), 15, "ready again once it answers")
        assert pool.status("line1").last_error is None

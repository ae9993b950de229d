"""The driver against the simulator over real ptys: init per family, send, receive, reports, calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.modem.errors import (
    LineUnavailableError,
    OutcomeUnknownError,
    PermanentSendError,
    TransientSendError,
)
from gatewayd.modem.events import LineState
from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.sim import SimNetwork

from .linekit import is_state, simulated_pool, until

FAMILIES = ["sim800", "sim7600", "ec25", "e3372", "generic"]


@pytest.mark.parametrize("profile", FAMILIES)
async def test_init_identity_and_choices_per_family(tmp_path: Path, profile: str) -> None:
    async with simulated_pool(tmp_path, profile) as (pool, modems, sink, _):
        st = pool.status("line1")
        modem = modems[0]
        assert st.state is LineState.READY and st.registered
        assert (st.imei, st.imsi, st.iccid) == (modem.state.imei, modem.state.imsi, modem.state.iccid)
        assert st.extra["dialect"] == profile
        assert st.signal is not None and st.operator
        assert st.storage_total and st.storage_used == 0
        mode, mt, _bm, ds, _bfr = (int(x) for x in st.extra["cnmi"].split(","))
        assert mt == 1  # store and notify: nothing lives only in a URC
        assert tuple(modem.state.cnmi)[:2] == (mode, mt)  # what the modem really holds
        if profile == "sim800":
            assert ds in (0, 1)
        if profile == "e3372":
            assert mode != 2
        assert not modem.state.echo and modem.state.cmgf == 0 and modem.state.cmee == 1
        assert sink.statuses and sink.statuses[-1].state is LineState.READY


async def test_send_long_message_and_status_reports(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim7600", network=net) as (pool, _modems, sink, _):
        text = "Bonjour, ceci est un message assez long pour tenir sur deux segments. " * 3
        parts = encode_submit("+33612345678", text, reference=300)
        assert len(parts) == 2
        mrs = [await pool.send_part("line1", p) for p in parts]
        assert len(set(mrs)) == 2
        received = await net.wait_received(1, timeout=5)
        assert received[0].text == text
        await until(lambda: len(sink.reports) == 2, 5, "two status reports")
        assert {r.reference for r in sink.reports} == set(mrs)
        assert all(r.recipient == "+33612345678" and r.delivered for r in sink.reports)


async def test_cms_errors_map_to_transient_and_permanent(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim800", network=net) as (pool, modems, _sink, _):
        modem = modems[0]
        part = encode_submit("+33612345678", "test", reference=1)[0]
        modem.fail_next(42)
        with pytest.raises(TransientSendError) as transient:
            await pool.send_part("line1", part)
        assert transient.value.code == 42 and "congestion" in transient.value.reason
        modem.fail_next(21)
        with pytest.raises(PermanentSendError) as permanent:
            await pool.send_part("line1", part)
        assert permanent.value.code == 21
        modem.fail_next(500, stage="command")
        with pytest.raises(TransientSendError) as unknown:
            await pool.send_part("line1", part)
        assert unknown.value.code == 500 and unknown.value.max_retries == 2
        assert net.received == []
        await until(lambda: pool.ready_lines() == ["line1"], 5, "line answering again")
        await pool.send_part("line1", part)
        assert len(await net.wait_received(1, timeout=5)) == 1
        assert pool.ready_lines() == ["line1"]


async def test_timeout_after_ctrl_z_is_outcome_unknown_then_resync(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "ec25", network=net) as (pool, modems, _sink, _):
        modem = modems[0]
        part = encode_submit("+33612345678", "peut-etre", reference=2)[0]
        modem.swallow_next_result(sent=True)
        with pytest.raises(OutcomeUnknownError):
            await pool.send_part("line1", part)
        session = pool.supervisor("line1").driver.session
        assert session is not None and session.needs_resync
        await net.wait_received(1, timeout=5)  # it did go out: resending would duplicate it
        # No answer: the line shows degraded until the probe that follows at once gets one.
        await until(lambda: pool.ready_lines() == ["line1"], 5, "line answering again")
        second = encode_submit("+33612345678", "ensuite", reference=3)[0]
        await pool.send_part("line1", second)
        assert [r.text for r in await net.wait_received(2, timeout=5)] == ["peut-etre", "ensuite"]
        assert not session.needs_resync


async def test_no_prompt_is_transient_and_nothing_sent(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim800", network=net) as (pool, modems, _sink, _):
        modems[0].no_prompt_next()
        part = encode_submit("+33612345678", "x", reference=4)[0]
        with pytest.raises(TransientSendError, match="prompt"):
            await pool.send_part("line1", part)
        assert net.received == []
        await until(lambda: pool.ready_lines() == ["line1"], 5, "line answering again")
        await pool.send_part("line1", part)
        assert len(await net.wait_received(1, timeout=5)) == 1


async def test_incoming_is_deleted_only_after_commit(tmp_path: Path) -> None:
    from gatewayd.modem.timings import FAST_TEST_TIMINGS
    from dataclasses import replace

    timings = replace(FAST_TEST_TIMINGS, sweep_interval=0.3)
    async with simulated_pool(tmp_path, "sim800", timings=timings) as (pool, modems, sink, _):
        modem = modems[0]
        sink.refuse = 1000
        await modem.deliver_sms("+33611111111", "garde-moi")
        storage = modem.state.storage("SM")
        assert storage is not None
        await until(lambda: sink.refused >= 2, 5, "hand-over attempts (notice, then a sweep)")
        assert storage.used == 1 and sink.sms == []  # refused: still on the SIM
        sink.refuse = 0
        await until(lambda: len(sink.sms) == 1, 5, "the sweep to hand it over again")
        assert sink.sms[0].text == "garde-moi" and sink.sms[0].sender == "+33611111111"
        await until(lambda: storage.used == 0, 5, "deletion after commit")


async def test_multipart_out_of_order_and_undecodable(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "ec25") as (pool, modems, sink, _):
        modem = modems[0]
        text = "Un message entrant en plusieurs morceaux, livré dans le désordre. " * 3
        await modem.deliver_sms("+33622222222", text, order=[2, 1, 3] if len(text) > 306 else [2, 1])
        await until(lambda: len(sink.sms) >= 2, 5, "parts")
        await until(lambda: len(sink.sms) == max(s.concat.total for s in sink.sms if s.concat), 5, "all parts")
        parts = sorted(sink.sms, key=lambda s: s.concat.sequence if s.concat else 0)
        assert "".join(p.text for p in parts) == text
        assert len({p.concat.reference for p in parts if p.concat}) == 1
        count = len(sink.sms)
        # A DELIVER whose user data length lies (claims 160 septets, carries 2 octets).
        await modem.deliver_pdus(["07913306091093F0040B913316111111F10000621132519094A0A0C834"])
        await until(lambda: len(sink.sms) == count + 1, 5, "the undecodable one")
        bad = sink.sms[-1]
        assert bad.undecodable and bad.pdu_hex.startswith("0791")
        assert pool.ready_lines() == ["line1"]


async def test_storage_full_is_cleared_after_commit(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "ec25") as (pool, modems, sink, _):
        modem = modems[0]
        old = modem.storage_full()
        await modem.deliver_sms("+33633333333", "nouveau")
        await until(lambda: any(s.text == "nouveau" for s in sink.sms), 8, "the new SMS")
        assert len(sink.sms) == old + 1  # the old ones were committed too, none dropped
        storage = modem.state.storage(modem.state.cpms[2])
        assert storage is not None
        await until(lambda: storage.used == 0, 5, "storage emptied")


async def test_call_counted_once_and_auto_hangup(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim800") as (pool, modems, sink, _):
        result = await modems[0].ring("+33644444444", rings=3)
        assert result.rings == 3 and not result.hung_up
        await until(lambda: len(sink.calls) == 1, 5, "call event")
        call = sink.calls[0]
        assert (call.number, call.rings, call.hung_up_by_us) == ("+33644444444", 3, False)
        assert call.ended_at >= call.started_at
    async with simulated_pool(tmp_path / "b", "sim7600", settings_kwargs={"auto_hangup": True}) as (
            pool, modems, sink, _):
        result = await modems[0].ring("+33655555555", rings=5)
        assert result.hung_up and result.rings < 5
        await until(lambda: len(sink.calls) == 1, 5, "call event")
        assert sink.calls[0].hung_up_by_us and sink.calls[0].number == "+33655555555"


async def test_deregistration_stops_sending_until_registered(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim7600") as (pool, modems, _sink, _):
        modems[0].deregister()
        await until(is_state(pool, "line1", LineState.DEGRADED), 5, "degraded")
        assert pool.ready_lines() == [] and not pool.status("line1").registered
        with pytest.raises(LineUnavailableError):
            await pool.send_part("line1", encode_submit("+33612345678", "x", reference=5)[0])
        modems[0].register(roaming=True)
        await until(is_state(pool, "line1", LineState.READY), 5, "ready again")
        assert pool.status("line1").roaming


async def test_noisy_huawei_and_busy_sim_at_boot(tmp_path: Path) -> None:
    from gatewayd.modem.sim import SimTimings

    net = SimNetwork()
    async with simulated_pool(tmp_path, "e3372", network=net,
                              modem_kwargs={"timings": SimTimings(sim_busy=0.4)}) as (pool, modems, sink, _):
        modem = modems[0]
        driver = pool.supervisor("line1").driver
        assert driver.busy_retries > 0  # the SIM said "busy" at first and was waited out
        assert pool.status("line1").imsi == modem.state.imsi and driver.cnmi
        modem.noisy(interval=0.01, between=True)
        for i in range(5):
            await pool.send_part("line1", encode_submit("+33612345678", f"bruit {i}", reference=i)[0])
        await modem.deliver_sms("+33699999999", "malgré le bruit")
        await until(lambda: [s.text for s in sink.sms] == ["malgré le bruit"], 5, "SMS through the noise")
        assert [r.text for r in await net.wait_received(5, timeout=5)] == [f"bruit {i}" for i in range(5)]
        assert pool.ready_lines() == ["line1"]

"""Nothing stays behind in the modem's own memory: inbound SMS that landed in another storage
(a Huawei stick re-enumerates on ME), and delivery reports that arrived while the daemon was down."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from gatewayd.modem.events import LineState
from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.pool import ModemPool
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS

from .linekit import RecordingSink, settings_for, simulated_pool, until


async def test_sms_stored_on_me_after_usb_reenumeration_are_drained(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "e3372") as (pool, modems, sink, _):
        modem = modems[0]
        assert pool.status("line1").extra["storage"] == "SM"
        await modem.unplug()
        await modem.replug()  # comes back with +CPMS on ME, as the stick does
        assert modem.state.cpms == ("ME", "ME", "ME")
        # Before the daemon selects its storage again, two SMS arrive: they land in ME.
        modem.store_received("+33611111111", "pendant le replug 1")
        modem.store_received("+33622222222", "pendant le replug 2")
        await until(lambda: len(sink.sms) == 2, 10, "both SMS handed over")
        assert sorted(s.text for s in sink.sms) == ["pendant le replug 1", "pendant le replug 2"]
        me = modem.state.storage("ME")
        assert me is not None
        await until(lambda: me.used == 0, 5, "ME emptied")
        assert modem.state.cpms[2] == "SM"  # then the line's own storage is selected again


async def test_the_periodic_sweep_reads_every_storage(tmp_path: Path) -> None:
    timings = dataclasses.replace(FAST_TEST_TIMINGS, sweep_interval=0.3)
    async with simulated_pool(tmp_path, "sim800", timings=timings) as (pool, modems, sink, _):
        modem = modems[0]
        assert pool.status("line1").extra["storage"] == "SM"
        modem.store_received("+33633333333", "rangé dans ME", memory="ME")
        await until(lambda: [s.text for s in sink.sms] == ["rangé dans ME"], 5, "the sweep reads ME too")
        me = modem.state.storage("ME")
        assert me is not None
        # Handed over (committed) first, deleted from the modem after: wait for the delete.
        await until(lambda: me.used == 0, 5, "ME emptied after the hand-over")


async def test_reports_that_arrive_while_the_daemon_is_down_are_read_from_storage(tmp_path: Path) -> None:
    net = SimNetwork()
    net.add_subscriber("+33612345678", report_delay=0.6)
    modem = SimModem(net, name="line1", profile="sim7600", link=tmp_path / "line1")
    await modem.start()
    try:
        first = ModemPool([settings_for(modem)], RecordingSink(), timings=FAST_TEST_TIMINGS)
        await first.start()
        await until(lambda: first.ready_lines() == ["line1"], 10, "line ready")
        assert first.status("line1").extra["reports"] == "stored"
        mr = await first.send_part("line1", encode_submit("+33612345678", "rapport", reference=9)[0])
        await first.stop()  # the daemon goes away before the report comes back
        sr = modem.state.storage("SR")
        assert sr is not None
        await until(lambda: sr.used == 1, 5, "the modem kept the report")

        sink = RecordingSink()
        second = ModemPool([settings_for(modem)], sink, timings=FAST_TEST_TIMINGS)
        await second.start()
        try:
            await until(lambda: len(sink.reports) == 1, 10, "the stored report read at start")
            assert sink.reports[0].reference == mr and sink.reports[0].delivered
            await until(lambda: sr.used == 0, 5, "the report deleted from SR")
        finally:
            await second.stop()
    finally:
        await modem.stop()
        net.close()


async def test_a_line_that_can_only_get_direct_reports_says_so(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim800", "ec25") as (pool, _modems, _sink, _):
        assert pool.status("line1").extra["reports"] == "direct"   # SIM800: +CNMI <ds> 0 or 1 only
        assert pool.status("line2").extra["reports"] == "stored"
        assert pool.status("line1").state is LineState.READY

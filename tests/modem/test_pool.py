"""ModemPool over several simulated lines: statuses, ready lines, sending, probe, hang-up, bad lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.config import ModemSettings
from gatewayd.modem.errors import LineUnavailableError
from gatewayd.modem.events import LineState
from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.pool import ModemPool
from gatewayd.modem.probe import format_probe, port_holders, probe_port
from gatewayd.modem.sim import SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS

from .linekit import simulated_pool, until


async def test_two_lines_send_independently(tmp_path: Path) -> None:
    net = SimNetwork()
    async with simulated_pool(tmp_path, "sim800", "e3372", network=net) as (pool, modems, sink, _):
        assert sorted(pool.ready_lines()) == ["line1", "line2"]
        assert [s.name for s in pool.statuses()] == ["line1", "line2"]
        await pool.send_part("line1", encode_submit("+33612345678", "par un", reference=1)[0])
        await pool.send_part("line2", encode_submit("+33612345678", "par deux", reference=2)[0])
        got = await net.wait_received(2, timeout=5)
        assert sorted((r.line, r.text) for r in got) == [("line1", "par un"), ("line2", "par deux")]
        with pytest.raises(LineUnavailableError, match="unknown line 'line9'"):
            await pool.send_part("line9", encode_submit("+33612345678", "x", reference=3)[0])
        with pytest.raises(LineUnavailableError):
            pool.status("nope")


async def test_a_bad_line_does_not_stop_the_others(tmp_path: Path) -> None:
    bad = ModemSettings(name="ghost", port=str(tmp_path / "no-such-tty"))
    async with simulated_pool(tmp_path, "ec25", wait_ready=True) as (pool, _modems, sink, _):
        extra = ModemPool([bad], sink, timings=FAST_TEST_TIMINGS)
        await extra.start()
        try:
            await until(lambda: extra.supervisor("ghost").reconnects >= 1, 5, "ghost retried")
            assert extra.ready_lines() == [] and extra.status("ghost").state is not LineState.READY
            assert "no-such-tty" in (extra.status("ghost").last_error or "")
            assert pool.ready_lines() == ["line1"]
        finally:
            await extra.stop()


async def test_probe_live_line_and_port(tmp_path: Path) -> None:
    async with simulated_pool(tmp_path, "sim7600") as (pool, modems, _sink, _):
        live = await pool.probe("line1")
        assert live["imei"] == modems[0].state.imei and live["state"] == "ready"
        assert live["iccid"] == modems[0].state.iccid and live["sim"] == "READY"
        assert "home" in live["registration"] and live["smsc"].startswith("+")
        assert "(" in live["cnmi_support"] and "/" in live["storage"]
        # Our own session holds the port: the scan finds this process's fd only when not excluded.
        assert port_holders(modems[0].port) == []
    async with simulated_pool(tmp_path / "p", "e3372", wait_ready=False) as (pool, modems, _sink, _):
        await pool.stop()
        result = await probe_port(modems[0].port, timings=FAST_TEST_TIMINGS)
        assert result["manufacturer"] == "huawei" and result["model"] == "E3372"
        assert result["iccid"] == modems[0].state.iccid
        assert result["held_by"] == "nobody else"
        text = format_probe(result)
        assert "manufacturer" in text and "E3372" in text and "held by" in text


async def test_port_holders_finds_another_process(tmp_path: Path) -> None:
    import os
    import subprocess

    master, slave = os.openpty()
    path = os.ttyname(slave)
    with open(path, "rb") as tty:
        proc = subprocess.Popen(["sleep", "10"], stdin=tty)
    try:
        holders = port_holders(path)
        assert f"{proc.pid} sleep" in holders
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
        os.close(slave)


async def test_probe_missing_port_is_a_clear_error(tmp_path: Path) -> None:
    from gatewayd.modem.errors import ModemError

    with pytest.raises(ModemError, match="cannot open"):
        await probe_port(str(tmp_path / "ttyUSB9"), timings=FAST_TEST_TIMINGS)


async def test_hang_up_reports_the_call(tmp_path: Path) -> None:
    import asyncio

    async with simulated_pool(tmp_path, "ec25") as (pool, modems, sink, _):
        ring = asyncio.create_task(modems[0].ring("+33677777777", rings=20, interval=0.05))
        await until(lambda: pool.supervisor("line1").driver.calls.active, 5, "ringing")
        await pool.hang_up("line1")
        result = await asyncio.wait_for(ring, 5)
        assert result.hung_up
        await until(lambda: len(sink.calls) == 1, 5, "call event")
        assert sink.calls[0].hung_up_by_us and sink.calls[0].rings >= 1


def test_timings_from_config_section() -> None:
    from gatewayd.config import ModemTimingSettings
    from gatewayd.modem.timings import ModemTimings

    t = ModemTimings.from_settings(ModemTimingSettings(submit_timeout=120, reconnect_max_delay=30))
    assert (t.submit, t.backoff_cap, t.prompt) == (120, 30, 10.0)

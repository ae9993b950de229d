"""A modem port that cannot be opened is logged at ERROR once, with what to check."""

from __future__ import annotations

import errno
import logging
import subprocess
import sys

import pytest
import serial

from gatewayd.modem.open_hints import open_failure_hint

from gatewayd.modem.pool import ModemPool
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.timings import FAST_TEST_TIMINGS

from .linekit import RecordingSink, settings_for, until


@pytest.mark.parametrize(("cause", "expected"), [
    (OSError(errno.EACCES, "Permission denied"), "dialout"),
    (serial.SerialException(errno.EAGAIN, "Could not exclusively lock port /dev/ttyUSB2"), "ModemManager"),
    (serial.SerialException(errno.ENOENT, "could not open port: No such file or directory"), "plugged in"),
    (None, "gatewayd modem probe /dev/ttyUSB2"),
])
def test_each_cause_gets_its_hint(cause: BaseException | None, expected: str) -> None:
    assert expected in open_failure_hint("/dev/ttyUSB2", cause)


async def test_a_port_held_by_another_program_is_an_error_naming_it(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="gatewayd.modem.supervisor")
    net = SimNetwork()
    modem = SimModem(net, name="line1", profile="sim800", seed=1)
    await modem.start()
    holder = subprocess.Popen([sys.executable, "-c", "import serial, time\n"
                               f"s = serial.Serial({modem.port!r}, exclusive=True)\n"
                               "print('held', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    pool = ModemPool([settings_for(modem)], RecordingSink(), timings=FAST_TEST_TIMINGS)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        await pool.start()
        await until(lambda: any(r.levelno == logging.ERROR for r in caplog.records), 15, "an error logged")
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert "another program holds it" in errors[0] and f"{holder.pid} python" in errors[0], errors
        # The retries while it stays held are not repeated at ERROR.
        await until(lambda: sum(1 for r in caplog.records if r.levelno == logging.DEBUG
                                and "lock" in r.getMessage()) >= 1, 15, "a quiet retry")
        assert len([r for r in caplog.records if r.levelno == logging.ERROR]) == 1
    finally:
        holder.kill()
        holder.wait(10)
        await pool.stop()
        await modem.stop()
        net.close()

"""Raw AT traffic at TRACE never shows a SIM PIN: not in our command, not in the modem's echo."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.logging_setup import TRACE
from gatewayd.modem.transport import redact

from .linekit import simulated_pool


async def test_a_pin_entered_at_trace_level_is_masked_both_ways(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(TRACE, logger="gatewayd.modem.transport")
    async with simulated_pool(tmp_path, "ec25", modem_kwargs={"pin": "4321"}, settings_kwargs={"pin": "4321"}):
        pass
    traffic = [r.getMessage() for r in caplog.records if r.levelno == TRACE]
    assert any("CPIN=***" in line for line in traffic), traffic[:20]  # the PIN was entered, and logged masked
    assert not any("4321" in line for line in traffic)


def test_a_secret_cut_by_a_read_boundary_stays_masked() -> None:
    stream = ("line9", "<-")
    chunks = [b'AT+CPIN="43', b'21"\r\r\nOK\r\n', b"AT+CSQ\r"]
    shown = b"".join(redact(stream, c) for c in chunks)
    assert b"4321" not in shown and b"43" not in shown.replace(b"AT+CSQ", b"")
    assert shown.endswith(b"\r\r\nOK\r\nAT+CSQ\r")  # what follows the secret's line is logged as it came
    assert redact(("line9", "->"), b'AT+CLCK="SC",0,"1234"\r') == b"AT+CLCK=***\r"
    assert redact(("line9", "->"), b"AT+CPIN?\r") == b"AT+CPIN?\r"

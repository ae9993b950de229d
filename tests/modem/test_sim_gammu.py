"""Faithfulness check: Debian's gammu (connection "at") identifies the simulated modem and sends
an SMS through it. Needs the `gammu` package (installed by .ci/run)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.sim.lines import identity

GAMMU = shutil.which("gammu")
pytestmark = pytest.mark.skipif(GAMMU is None, reason="gammu binary not installed (Debian package 'gammu')")


@pytest.fixture
async def sim_factory(tmp_path: Path) -> AsyncIterator[object]:
    made: list[SimModem] = []

    async def make(profile: str) -> tuple[SimModem, Path]:
        modem = SimModem(SimNetwork(), name="line1", profile=profile, link=tmp_path / "modem",
                         **identity(7))
        await modem.start()
        made.append(modem)
        rc = tmp_path / "gammurc"
        rc.write_text(
            "[gammu]\n"
            f"device = {modem.port}\n"
            "connection = at115200\n"
            f"logfile = {tmp_path / 'gammu.log'}\n"
            "logformat = textall\n"
        )
        async with asyncio.timeout(5):
            while not modem.state.registered:
                await asyncio.sleep(0.01)
        return modem, rc

    yield make
    for modem in made:
        await modem.stop()
        modem.network.close()


async def gammu(rc: Path, *args: str, stdin: bytes = b"") -> tuple[int, str]:
    assert GAMMU is not None
    proc = await asyncio.create_subprocess_exec(
        GAMMU, "-c", str(rc), *args, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(stdin), 60)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log = (rc.parent / "gammu.log")
        raise AssertionError("gammu hung; its log:\n" + (log.read_text()[-3000:] if log.exists() else "")) from None
    return proc.returncode or 0, out.decode(errors="replace")


# Each gammu run takes ~4 s of gammu's own polling, so one run per family that matters.
@pytest.mark.parametrize("profile", ["sim800", "e3372"])
async def test_gammu_identifies_the_simulated_modem(sim_factory, profile: str) -> None:  # type: ignore[no-untyped-def]
    modem, rc = await sim_factory(profile)
    code, out = await gammu(rc, "identify")
    assert code == 0, out
    assert modem.profile.manufacturer.lower() in out.lower()
    assert f"IMEI                 : {modem.state.imei}" in out
    assert f"SIM IMSI             : {modem.state.imsi}" in out
    assert modem.profile.revision in out


@pytest.mark.parametrize("profile", ["ec25"])
async def test_gammu_sends_an_sms_through_the_simulated_modem(sim_factory, profile: str) -> None:  # type: ignore[no-untyped-def]
    modem, rc = await sim_factory(profile)
    code, out = await gammu(rc, "sendsms", "TEXT", "+33612345678", "-text", "Bonjour de gammu [ok] €")
    assert code == 0, out
    assert "OK, message reference=" in out
    received = await modem.network.wait_received(1, timeout=5)
    assert (received[0].recipient, received[0].text) == ("+33612345678", "Bonjour de gammu [ok] €")
    assert received[0].sender == modem.msisdn

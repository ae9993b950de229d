"""Faults on demand: errors, hangs, unplug/replug at the same path, storage full, latency, noise."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gatewayd.modem.pdu import encode_submit
from gatewayd.modem.sim import SimModem, SimNetwork
from gatewayd.modem.sim.client import RawAtClient
from gatewayd.modem.sim.lines import identity
from tests.waiting import until

Make = Callable[..., Awaitable[tuple[SimModem, RawAtClient]]]
PART = encode_submit("+33612345678", "test", reference=0)[0]


@pytest.fixture
async def make_sim(tmp_path: Path) -> AsyncIterator[Make]:
    made: list[tuple[SimModem, list[RawAtClient]]] = []

    async def make(profile: str = "sim800", **kwargs: Any) -> tuple[SimModem, RawAtClient]:
        n = len(made) + 1
        modem = SimModem(SimNetwork(), name=f"line{n}", profile=profile, link=tmp_path / f"line{n}",
                         **(identity(n) | kwargs))
        await modem.start()
        await until(lambda: modem.state.registered)
        client = RawAtClient(modem.port)
        made.append((modem, [client]))
        for cmd in ("ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,1,0,1,0" if profile == "sim800" else "AT+CNMI=1,1,0,1,0"):
            assert await client.command(cmd) == ["OK"]
        return modem, client

    yield make
    for modem, clients in made:
        for client in clients:
            client.close()
        await modem.stop()
        modem.network.close()


async def test_fail_next_after_the_pdu_then_recovers(make_sim: Make) -> None:
    modem, client = await make_sim()
    modem.fail_next(42, times=2)
    assert await client.send_pdu(PART.tpdu_length, PART.hex) == ["+CMS ERROR: 42"]
    assert await client.send_pdu(PART.tpdu_length, PART.hex) == ["+CMS ERROR: 42"]
    assert (await client.send_pdu(PART.tpdu_length, PART.hex))[-1] == "OK"
    assert len(modem.network.parts) == 1


async def test_fail_at_the_command_gives_no_prompt(make_sim: Make) -> None:
    modem, client = await make_sim()
    modem.fail_next(314, stage="command")
    mark = len(client.raw)
    assert await client.command(f"AT+CMGS={PART.tpdu_length}") == ["+CMS ERROR: 314"]
    assert b">" not in client.raw[mark:]
    assert await client.command("AT") == ["OK"]


async def test_no_prompt_until_escape(make_sim: Make) -> None:
    modem, client = await make_sim()
    modem.no_prompt_next()
    mark = len(client.raw)
    client.write(f"AT+CMGS={PART.tpdu_length}\r")
    await asyncio.sleep(0.2)
    assert client.raw[mark:] == b""
    client.write(b"\x1b")
    assert await client.command("AT") == ["OK"]
    assert (await client.send_pdu(PART.tpdu_length, PART.hex))[-1] == "OK"


async def test_swallowed_result_still_reaches_the_network(make_sim: Make) -> None:
    modem, client = await make_sim()
    modem.swallow_next_result(sent=True)
    client.write(f"AT+CMGS={PART.tpdu_length}\r")
    await until(lambda: b"> " in client.raw)
    mark = len(client.raw)
    client.write(PART.hex + "\x1a")
    await modem.network.wait_received(1)
    # The modem answers in order: a +CMGS it were to send would come before this AT's OK.
    assert (await client.command("AT"))[-1] == "OK"
    assert b"+CMGS" not in client.raw[mark:]


async def test_hang_swallows_everything_until_unhang(make_sim: Make) -> None:
    modem, client = await make_sim()
    modem.hang()
    mark = len(client.raw)
    client.write("AT\r")
    await modem.deliver_sms("+33611111111", "pendant la panne")
    await asyncio.sleep(0.2)
    assert client.raw[mark:] == b""
    assert modem.network.pending(modem.name) == 1
    modem.unhang()
    assert await client.expect(r"^\+CMTI:") == '+CMTI: "SM",1'
    assert await client.command("AT") == ["OK"]


async def test_unplug_closes_the_port_and_replug_comes_back_at_the_same_path(make_sim: Make) -> None:
    modem, client = await make_sim()
    path = modem.port
    await modem.deliver_sms("+33611111111", "avant")
    await client.expect(r"^\+CMTI:")
    await modem.unplug()
    await until(lambda: client.closed)
    assert not os.path.lexists(path)
    with pytest.raises(ConnectionError):
        await client.command("AT", timeout=1)
    client.close()
    await modem.deliver_sms("+33611111111", "pendant")  # kept by the network meanwhile
    assert modem.network.pending(modem.name) == 1
    await modem.replug()
    assert os.path.realpath(path) == modem.slave_path
    again = RawAtClient(path)
    try:
        await again.expect("^SMS Ready$")
        await until(lambda: modem.network.pending(modem.name) == 0)
        assert await again.command("ATE0") == ["OK"]
        listing = await again.command("AT+CMGL=4")
        assert sum(line.startswith("+CMGL") for line in listing) == 2  # SIM storage survived
    finally:
        again.close()


async def test_storage_full_refuses_then_a_sweep_frees_it(make_sim: Make) -> None:
    modem, client = await make_sim("ec25")
    assert modem.storage_full() == 50
    assert await client.command("AT+CPMS?") == ['+CPMS: "SM",50,50,"SM",50,50,"SM",50,50', "OK"]
    await modem.deliver_sms("+33611111111", "nouveau")
    assert await client.expect(r"smsfull") == '+QIND: "smsfull","SM"'
    assert modem.network.pending(modem.name) == 1
    assert await client.command("AT+CMGW=20") == ["+CMS ERROR: 322"]
    assert await client.command("AT+CMGD=0,4") == ["OK"]
    assert await client.expect(r"^\+CMTI:") == '+CMTI: "SM",0'
    assert modem.network.pending(modem.name) == 0


@pytest.mark.parametrize("latency", [0.3, (0.2, 0.35)])
async def test_send_latency(make_sim: Make, latency: float | tuple[float, float]) -> None:
    modem, client = await make_sim()
    modem.set_latency(latency)
    started = time.monotonic()
    assert (await client.send_pdu(PART.tpdu_length, PART.hex))[-1] == "OK"
    assert time.monotonic() - started >= 0.2


async def test_huawei_noise_and_curc_off(make_sim: Make) -> None:
    modem, client = await make_sim("e3372")
    modem.noisy(0.02, between=True)
    await client.expect(r"^\^(RSSI|HCSQ|MODE|BOOT|SRVST)")
    answers = [await client.command("AT+CSQ") for _ in range(10)]
    assert all(a[0] == "+CSQ: 21,99" and a[-1] == "OK" for a in answers)
    modem.faults.noise_between = False
    assert (await client.command("AT^CURC=0"))[-1] == "OK"
    # What the modem said before ^CURC=0 took effect (noise held back during the command) has
    # arrived once the next command's answer has: the port delivers in order.
    assert await client.command("AT") == ["OK"]
    mark, rounds = len(client.lines), modem.noise_rounds
    await until(lambda: modem.noise_rounds >= rounds + 5, what="five more turns of the noise timer")
    assert await client.command("AT") == ["OK"]
    assert client.lines[mark:] == ["OK"]


async def test_noise_slips_in_before_final_results(make_sim: Make) -> None:
    modem, client = await make_sim("sim800")
    modem.noisy(60.0, between=True)
    answers = [await client.command("AT+CSQ") for _ in range(20)]
    assert any(len(a) == 3 for a in answers)  # +CSQ, a noise line, OK
    assert all(a[0] == "+CSQ: 21,99" and a[-1] == "OK" for a in answers)

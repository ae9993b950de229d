"""The virtual network: scripted replies, STOP, delivery reports, duplicate accounting, and
start_simulated_lines for the daemon and benchmarks."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gatewayd.config import ModemSettings
from gatewayd.modem.pdu import Deliver, StatusReportPdu, decode, encode_submit
from gatewayd.modem.sim import SimModem, SimNetwork, start_simulated_lines, stop_simulated_lines
from gatewayd.modem.sim.client import RawAtClient
from gatewayd.modem.sim.lines import luhn
from tests.waiting import until


@pytest.fixture
async def line(tmp_path: Path) -> AsyncIterator[tuple[SimModem, RawAtClient, SimNetwork]]:
    network = SimNetwork()
    modem = SimModem(network, name="line1", profile="sim800", link=tmp_path / "line1")
    await modem.start()
    await until(lambda: modem.state.registered)
    client = RawAtClient(modem.port)
    for cmd in ("ATE0", "AT+CMEE=1", "AT+CMGF=0", "AT+CNMI=2,2,0,1,0"):
        assert await client.command(cmd) == ["OK"]
    yield modem, client, network
    client.close()
    await modem.stop()
    network.close()


async def send(client: RawAtClient, number: str, text: str, *, reference: int = 0, report: bool = True) -> list[int]:
    refs = []
    for part in encode_submit(number, text, reference=reference, status_report=report):
        answer = await client.send_pdu(part.tpdu_length, part.hex)
        assert answer[-1] == "OK", answer
        refs.append(int(answer[0].split()[-1]))
    return refs


async def next_pdu(client: RawAtClient, prefix: str) -> Deliver | StatusReportPdu:
    await client.expect("^" + prefix)
    msg = decode(await client.expect("^[0-9A-F]{20,}$"))
    assert isinstance(msg, (Deliver, StatusReportPdu))
    return msg


async def test_scripted_reply_and_stop(line: tuple[SimModem, RawAtClient, SimNetwork]) -> None:
    modem, client, network = line
    network.add_subscriber("+33611111111", reply="Merci !", reply_delay=0.01, report_status=None)
    network.add_subscriber("+33622222222", reply_stop=True, reply_delay=0.01, report_status=None)
    network.add_subscriber("+33633333333", reply=lambda text: text.upper(), reply_delay=0.01, report_status=None)
    await send(client, "+33611111111", "Votre RDV est confirmé")
    reply = await next_pdu(client, r"\+CMT: ")
    assert isinstance(reply, Deliver) and (reply.sender, reply.text) == ("+33611111111", "Merci !")
    await send(client, "+33622222222", "Promo -20%")
    reply = await next_pdu(client, r"\+CMT: ")
    assert isinstance(reply, Deliver) and (reply.sender, reply.text) == ("+33622222222", "STOP")
    await send(client, "+33633333333", "écho")
    reply = await next_pdu(client, r"\+CMT: ")
    assert isinstance(reply, Deliver) and reply.text == "ÉCHO"


async def test_report_sequence_still_trying_then_delivered(line: tuple[SimModem, RawAtClient, SimNetwork]) -> None:
    _, client, network = line
    network.add_subscriber("+33644444444", report_status=(0x30, 0x00), report_delay=0.02)
    [mr] = await send(client, "+33644444444", "rapport")
    first = await next_pdu(client, r"\+CDS: ")
    second = await next_pdu(client, r"\+CDS: ")
    assert isinstance(first, StatusReportPdu) and isinstance(second, StatusReportPdu)
    assert (first.reference, first.status, first.final) == (mr, 0x30, False)
    assert (second.reference, second.delivered) == (mr, True)


async def test_unreachable_subscriber_sends_no_report(line: tuple[SimModem, RawAtClient, SimNetwork]) -> None:
    _, client, network = line
    network.add_subscriber("+33655555555", report_status=None)
    await send(client, "+33655555555", "perdu ?")
    await asyncio.sleep(0.2)
    assert not any(x.startswith("+CDS") for x in client.lines)
    assert network.received_by("+33655555555")[0].text == "perdu ?"


async def test_duplicates_are_recorded_not_hidden(line: tuple[SimModem, RawAtClient, SimNetwork]) -> None:
    _, client, network = line
    await send(client, "+33666666666", "une fois", report=False)
    await send(client, "+33666666666", "une fois", report=False)
    long_text = "partie " * 40
    parts = encode_submit("+33677777777", long_text, reference=9, status_report=False)
    for part in [parts[1], parts[1], parts[0]]:  # part 2 resent before part 1 arrives
        await client.send_pdu(part.tpdu_length, part.hex)
    assert [r.text for r in network.received_by("+33666666666")] == ["une fois", "une fois"]
    assert [r.text for r in network.received_by("+33677777777")] == [long_text]
    assert len(network.duplicate_parts) == 1 and network.duplicate_parts[0].concat.sequence == 2  # type: ignore[union-attr]
    assert len(network.parts) == 5


async def test_messages_wait_in_the_network_while_deregistered(line: tuple[SimModem, RawAtClient, SimNetwork]) -> None:
    modem, client, network = line
    modem.deregister()
    await modem.deliver_sms("+33611111111", "en attente")
    await asyncio.sleep(0.1)
    assert network.pending("line1") == 1
    modem.register()
    msg = await next_pdu(client, r"\+CMT: ")
    assert isinstance(msg, Deliver) and msg.text == "en attente"


async def test_start_simulated_lines_gives_distinct_identities_and_valid_settings(tmp_path: Path) -> None:
    network = SimNetwork()
    lines = await start_simulated_lines(3, data_dir=tmp_path, network=network, profiles=["sim800", "ec25"])
    try:
        settings = [ModemSettings(**entry) for _, entry in lines]
        assert [s.name for s in settings] == ["line1", "line2", "line3"]
        assert [s.dialect for s in settings] == ["sim800", "ec25", "sim800"]
        assert all(os.path.realpath(s.port) == m.slave_path for (m, _), s in zip(lines, settings, strict=True))
        modems = [m for m, _ in lines]
        assert len({m.state.imei for m in modems}) == len({m.state.iccid for m in modems}) == 3
        assert all(luhn(m.state.imei[:-1]) == m.state.imei for m in modems)
        assert set(network.modems) == {"line1", "line2", "line3"}
        client = RawAtClient(settings[1].port)
        try:
            assert (await client.command("AT+CGMM"))[-2:] == ["EC25", "OK"]
        finally:
            client.close()
    finally:
        await stop_simulated_lines(lines)
    assert not any(os.path.lexists(s.port) for s in settings)


async def test_demo_network_by_default(tmp_path: Path) -> None:
    lines = await start_simulated_lines(1, data_dir=tmp_path)
    try:
        network = lines[0][0].network
        assert network.subscribers["+33612340102"].reply == "STOP"
    finally:
        await stop_simulated_lines(lines)

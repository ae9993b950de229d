"""AtSession over a real pty against a scripted peer: answers, errors, timeouts, resync."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from gatewayd.modem.at import Urc
from gatewayd.modem.errors import CommandError, CommandTimeout, PortClosedError
from gatewayd.modem.session import AtSession, PromptTimeout, SubmitTimeout
from gatewayd.modem.timings import FAST_TEST_TIMINGS

from .fakepeer import FakePeer

Script = Callable[[str], "bytes | None"]


@pytest.fixture
async def pair() -> AsyncIterator[Callable[[Script], "asyncio.Future[tuple[FakePeer, AtSession, list[Urc]]]"]]:
    made: list[tuple[FakePeer, AtSession]] = []

    async def make(script: Script) -> tuple[FakePeer, AtSession, list[Urc]]:
        peer = FakePeer(script)
        urcs: list[Urc] = []
        session = AtSession("t", FAST_TEST_TIMINGS, on_urc=urcs.append)
        await session.open(peer.port, 115200)
        made.append((peer, session))
        return peer, session, urcs

    yield make  # type: ignore[misc]
    for peer, session in made:
        await session.close()
        peer.close()


def basic(line: str) -> bytes | None:
    if line == "AT\r" or line == "\x1b":
        return b"\r\nOK\r\n" if line == "AT\r" else None
    if line == "AT+CSQ\r":
        return b'\r\n+CSQ: 20,99\r\n\r\nOK\r\n+CMTI: "SM",4\r\n'
    if line == "AT+CMGD=9\r":
        return b"\r\n+CMS ERROR: 321\r\n"
    return b"\r\nERROR\r\n"


async def test_command_lines_urc_after_ok_and_errors(pair) -> None:  # type: ignore[no-untyped-def]
    peer, session, urcs = await pair(basic)
    resp = await session.command("AT+CSQ")
    assert resp.lines == ("+CSQ: 20,99",)
    await asyncio.sleep(0.05)
    assert urcs == [Urc("+CMTI", '+CMTI: "SM",4')]
    with pytest.raises(CommandError) as err:
        await session.command("AT+CMGD=9")
    assert (err.value.kind, err.value.code) == ("CMS", 321)
    assert "invalid memory index" in str(err.value)
    assert peer.received[0] == "\x1b"  # a fresh port is resynchronised before the first command


async def test_submit_prompt_then_mr(pair) -> None:  # type: ignore[no-untyped-def]
    def script(line: str) -> bytes | None:
        if line.startswith("AT+CMGS="):
            return b"\r\n> "
        if line.endswith("\x1a"):
            return b"\r\n+CMGS: 77\r\n\r\nOK\r\n"
        return basic(line)

    peer, session, _ = await pair(script)
    resp = await session.submit_pdu(5, "00AABBCC")
    assert resp.first("+CMGS:") == "+CMGS: 77"
    assert peer.received[-1] == "00AABBCC\x1a"


async def test_prompt_timeout_sends_esc_and_resyncs(pair) -> None:  # type: ignore[no-untyped-def]
    def script(line: str) -> bytes | None:
        return None if line.startswith("AT+CMGS=") else basic(line)

    peer, session, _ = await pair(script)
    with pytest.raises(PromptTimeout):
        await session.submit_pdu(5, "00AABBCC")
    await asyncio.sleep(0.05)
    assert "00AABBCC\x1a" not in peer.received and peer.received[-1] == "\x1b"
    assert session.needs_resync
    assert (await session.command("AT+CSQ")).lines == ("+CSQ: 20,99",)
    assert not session.needs_resync


async def test_late_answer_after_submit_timeout_is_drained(pair) -> None:  # type: ignore[no-untyped-def]
    peer: FakePeer
    state = {"late": False}

    def script(line: str) -> bytes | None:
        if line.startswith("AT+CMGS="):
            return b"\r\n> "
        if line.endswith("\x1a"):
            state["late"] = True
            return None
        if line == "AT\r" and state["late"]:
            # The answer to the old submit turns up just before our probe's own OK.
            state["late"] = False
            return b"\r\n+CMGS: 12\r\n\r\nOK\r\n"
        return basic(line)

    peer, session, _ = await pair(script)
    with pytest.raises(SubmitTimeout):
        await session.submit_pdu(5, "00AABBCC")
    assert session.needs_resync
    resp = await session.command("AT+CSQ")
    assert resp.lines == ("+CSQ: 20,99",)
    assert "+CMGS: 12" not in resp.lines
    probes = [x for x in peer.received if x == "AT\r"]
    assert len(probes) >= 2  # the first OK was stale, so it probed again


async def test_hung_peer_times_out_and_resync_gives_up(pair) -> None:  # type: ignore[no-untyped-def]
    peer, session, _ = await pair(basic)
    await session.command("AT")
    peer.script = lambda line: None
    with pytest.raises(CommandTimeout):
        await session.command("AT+CSQ")
    with pytest.raises(CommandTimeout, match="resync"):
        await session.command("AT+CSQ")
    peer.script = basic
    assert (await session.command("AT+CSQ")).final.ok


async def test_port_vanishing_fails_the_command(pair) -> None:  # type: ignore[no-untyped-def]
    peer, session, _ = await pair(lambda line: b"\r\nOK\r\n" if line == "AT\r" else None)
    await session.command("AT")
    task = asyncio.create_task(session.command("AT+CSQ"))
    await asyncio.sleep(0.05)
    peer.close()
    with pytest.raises(PortClosedError):
        await asyncio.wait_for(task, 3)
    assert isinstance(await asyncio.wait_for(session.wait_closed(), 3), BaseException)
    with pytest.raises(PortClosedError):
        await session.command("AT")


async def test_open_missing_port_names_it() -> None:
    session = AtSession("t", FAST_TEST_TIMINGS)
    with pytest.raises(PortClosedError, match="/nonexistent/tty"):
        await session.open("/nonexistent/tty", 115200)

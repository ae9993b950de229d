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
from tests.waiting import until

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
    await until(lambda: urcs, 3, "the URC right after OK")
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
    await until(lambda: peer.received and peer.received[-1] == "\x1b", 3, "the ESC that leaves the text entry")
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
    await until_received(peer, "AT+CSQ\r")
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


class SlowModem:
    """A modem that answers one command at a time, in order, some of them late (like a real one
    busy with a network query): whatever was asked before is answered before what is asked next."""

    def __init__(self, delays: dict[str, float], answers: dict[str, bytes]) -> None:
        self.delays = delays
        self.answers = answers
        self.peer: FakePeer | None = None
        self._free_at = 0.0

    def __call__(self, line: str) -> bytes | None:
        loop = asyncio.get_running_loop()
        if line == "\x1b":
            return None
        answer = self.answers.get(line.rstrip("\r"), b"\r\nOK\r\n" if line == "AT\r" else b"\r\nERROR\r\n")
        at = max(loop.time(), self._free_at) + self.delays.get(line.rstrip("\r"), 0.0)
        self._free_at = at
        assert self.peer is not None
        loop.call_at(at, self.peer.push, answer)
        return None


async def test_a_cancelled_command_never_lends_its_late_answer_to_the_next(pair) -> None:  # type: ignore[no-untyped-def]
    modem = SlowModem({"AT+COPS?": 0.3}, {"AT+COPS?": b'\r\n+COPS: 0,0,"Orange F",7\r\n\r\nOK\r\n',
                                          "AT+CPMS?": b'\r\n+CPMS: "SM",1,30,"SM",1,30,"SM",1,30\r\n\r\nOK\r\n'})
    peer, session, _ = await pair(modem)
    modem.peer = peer
    await session.command("AT")
    task = asyncio.create_task(session.command("AT+COPS?"))
    await until_received(peer, "AT+COPS?\r")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert session.needs_resync  # the cancelled command's answer is still to come
    resp = await session.command("AT+CPMS?")
    assert resp.lines == ('+CPMS: "SM",1,30,"SM",1,30,"SM",1,30',), resp.lines
    assert not session.busy


async def test_a_cancelled_pdu_submission_marks_the_session_for_resync(pair) -> None:  # type: ignore[no-untyped-def]
    modem = SlowModem({"00AABBCC\x1a": 0.3}, {"AT+CMGS=5": b"\r\n> ", "00AABBCC\x1a": b"\r\n+CMGS: 12\r\n\r\nOK\r\n",
                                              "AT+CSQ": b"\r\n+CSQ: 20,99\r\n\r\nOK\r\n"})
    peer, session, _ = await pair(modem)
    modem.peer = peer
    await session.command("AT")
    task = asyncio.create_task(session.submit_pdu(5, "00AABBCC"))
    await until_received(peer, "00AABBCC\x1a")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert session.needs_resync
    resp = await session.command("AT+CSQ")
    assert resp.lines == ("+CSQ: 20,99",), resp.lines


async def until_received(peer: FakePeer, text: str, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while text not in peer.received:
            await asyncio.sleep(0.01)

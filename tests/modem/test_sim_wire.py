"""Modem-side AT framing and command-line splitting of the simulator (pure)."""

from __future__ import annotations

import pytest

from gatewayd.modem.sim.wire import Command, CommandLine, Framer, MessageData, split_commands


def test_lines_end_at_cr_and_echo_everything_typed() -> None:
    f = Framer()
    echo, items = f.feed(b"AT+CSQ\r\nAT")
    assert echo == b"AT+CSQ\r\nAT" and items == [CommandLine("+CSQ")]
    echo, items = f.feed(b"I\r")
    assert items == [CommandLine("I")]


def test_garbage_before_at_is_ignored_and_non_commands_dropped() -> None:
    f = Framer()
    _, items = f.feed(b"\x00\xff\xfeAT\r hello\r")
    assert items == [CommandLine("")]


def test_repeat_last_and_backspace() -> None:
    f = Framer()
    _, items = f.feed(b"AT+CSX\bQ\rA/")
    assert items == [CommandLine("+CSQ"), CommandLine("+CSQ")]


def test_message_data_after_cmgs_even_in_the_same_write() -> None:
    f = Framer()
    _, items = f.feed(b"AT+CMGS=23\r0011000B91\x1aAT\r")
    assert items == [CommandLine("+CMGS=23"), MessageData("0011000B91", False), CommandLine("")]
    _, items = f.feed(b"AT+CMGS=9\rABC\x1b")
    assert items[-1] == MessageData("ABC", True)


@pytest.mark.parametrize(("body", "expected"), [
    ("", []),
    ("E0V1", [Command("E", "set", "0"), Command("V", "set", "1")]),
    ("+CMEE=1;+CMGF=0", [Command("+CMEE", "set", "1"), Command("+CMGF", "set", "0")]),
    ("+CPMS?", [Command("+CPMS", "read")]),
    ("+CNMI=?", [Command("+CNMI", "test")]),
    ("^CURC=0", [Command("^CURC", "set", "0")]),
    ("&FE0", [Command("&F", "set", ""), Command("E", "set", "0")]),
    ("S0=0", [Command("S0", "set", "0")]),
    ("I", [Command("I", "exec")]),
    ('+CUSD=1,"*100#;x",15', [Command("+CUSD", "set", '1,"*100#;x",15')]),
    ("Z", [Command("Z", "exec")]),
])
def test_split_commands(body: str, expected: list[Command]) -> None:
    assert split_commands(body) == expected


@pytest.mark.parametrize("bad", ["+", "+CSQ!", "&", "S=1", "!"])
def test_split_refuses_nonsense(bad: str) -> None:
    with pytest.raises(ValueError):
        split_commands(bad)


def test_params_keep_quoted_commas() -> None:
    assert Command("+CPMS", "set", '"SM","ME",  "SM"').params() == ["SM", "ME", "SM"]
    assert Command("+CUSD", "set", '1,"a,b",15').params() == ["1", "a,b", "15"]
    assert Command("+CMGL", "exec").params() == []

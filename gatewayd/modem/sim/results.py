"""Answers of the simulated modem: error results as each +CMEE level prints them, replies, and
the hooks command handlers may call on the device."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

CME_TEXT = {
    3: "operation not allowed", 4: "operation not supported", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    16: "incorrect password", 30: "no network service", 50: "Incorrect parameters", 100: "unknown",
}
CMS_TEXT = {
    21: "Short message transfer rejected", 38: "Network out of order", 41: "Temporary failure",
    42: "Congestion", 47: "Resources unavailable, unspecified", 300: "ME failure",
    302: "operation not allowed", 303: "operation not supported", 304: "invalid PDU mode parameter",
    305: "invalid text mode parameter", 310: "SIM not inserted", 311: "SIM PIN required",
    314: "SIM busy", 316: "SIM PUK required", 320: "memory failure", 321: "invalid memory index",
    322: "memory full", 330: "SMSC address unknown", 331: "no network service",
    332: "network timeout", 340: "no +CNMA acknowledgement expected", 500: "unknown error",
}


class AtError(Exception):
    """A command failed: kind "ERROR" (plain), "CME" or "CMS" with its code."""

    def __init__(self, kind: str, code: int = 0, text: str = "") -> None:
        super().__init__(f"{kind} {code} {text}".strip())
        self.kind = kind
        self.code = code
        self.text = text

    def render(self, cmee: int, unknown_reply: str = "ERROR") -> str:
        if self.kind == "UNKNOWN":
            return unknown_reply
        if self.kind == "RESULT":
            return self.text
        if self.kind == "ERROR" or cmee == 0:
            return "ERROR"
        if cmee == 2:
            table = CME_TEXT if self.kind == "CME" else CMS_TEXT
            return f"+{self.kind} ERROR: {table.get(self.code, 'unknown error')}"
        return f"+{self.kind} ERROR: {self.code}"


def cme(code: int) -> AtError:
    return AtError("CME", code)


def cms(code: int) -> AtError:
    return AtError("CMS", code)


SYNTAX = AtError("ERROR")
NO_CARRIER = AtError("RESULT", text="NO CARRIER")


@dataclass
class Reply:
    """Information lines; `prompt` asks the device for `> ` and message data (+CMGS/+CMGW)."""

    lines: list[str] = field(default_factory=list)
    prompt: tuple[str, str] | None = None  # ("submit"|"write", argument)


class Hooks(Protocol):
    """What handlers may ask of the device beyond the state."""

    def after_reply(self, fn: Callable[[], None]) -> None: ...

    def reboot(self) -> None: ...

    def hang_up(self) -> bool: ...

    def ussd(self, code: str) -> list[str]: ...

    def storage_changed(self) -> None: ...

    def registration_changed(self) -> None: ...

    def sim_unlocked(self) -> None: ...


def int_arg(value: str, allowed: range | frozenset[int] | set[int] | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise cme(50) from None
    if allowed is not None and number not in allowed:
        raise cme(50)
    return number


def ranges(values: frozenset[int]) -> str:
    return ",".join(str(v) for v in sorted(values))

"""Modem exceptions (one root) and the CMS/CME code table (TS 27.005 §3.2.5, TS 27.007 §9.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gatewayd.problems import Problem


class ModemError(Exception):
    """Root of everything the modem layer raises."""


class PortClosedError(ModemError):
    """The serial port went away (unplugged, closed) while we were using it."""


class CommandTimeout(ModemError):
    """A command got no final result in time; the session resynchronises before the next one."""

    def __init__(self, command: str, timeout: float) -> None:
        super().__init__(f"{command!r}: no answer within {timeout:g}s")
        self.command = command
        self.timeout = timeout


class CommandError(ModemError):
    """A command ended with ERROR, +CME ERROR or +CMS ERROR (kind 'ERROR'|'CME'|'CMS'|…)."""

    def __init__(self, command: str, kind: str, code: int | None, text: str = "") -> None:
        self.command = command
        self.kind = kind
        self.code = code
        self.text = text
        if kind in ("CME", "CMS") and code is not None:
            info = lookup_cme(code) if kind == "CME" else lookup_cms(code)
            detail = f"+{kind} ERROR {code} ({info.name})"
        elif kind in ("CME", "CMS"):
            detail = f"+{kind} ERROR: {text}"
        else:
            detail = kind
        super().__init__(f"{command!r}: {detail}")

    @property
    def info(self) -> ErrorInfo | None:
        """The table entry for a numeric CME/CMS code."""
        if self.code is None:
            return None
        if self.kind == "CMS":
            return lookup_cms(self.code)
        if self.kind == "CME":
            return lookup_cme(self.code)
        return None


class UssdError(ModemError):
    """A USSD request was refused by the modem or got no answer from the network in time: a
    `ussd.*` code (gatewayd.problems) with its parameters; str() is its English."""

    def __init__(self, code: str, **params: Any) -> None:
        self.problem = Problem(code, "", params)
        super().__init__(self.problem.english())


class PinError(ModemError):
    """The SIM needs a PIN/PUK we do not have or rejected ours: never retried automatically."""


@dataclass(frozen=True)
class ErrorInfo:
    """One table row: `max_retries` None means 'retry with backoff as long as the message lives'."""

    code: int
    name: str
    transient: bool
    max_retries: int | None = None


def _t(code: int, name: str, retries: int | None = None) -> ErrorInfo:
    return ErrorInfo(code, name, True, retries)


def _p(code: int, name: str) -> ErrorInfo:
    return ErrorInfo(code, name, False, 0)


# Transient = the network or the modem may well accept the same PDU later (or on another line).
_CMS: dict[int, ErrorInfo] = {e.code: e for e in (
    _p(1, "unassigned number"),
    _p(8, "operator determined barring"),
    _p(10, "call barred"),
    _p(21, "short message transfer rejected"),
    _p(27, "destination out of service"),
    _p(28, "unidentified subscriber"),
    _p(29, "facility rejected"),
    _p(30, "unknown subscriber"),
    _t(38, "network out of order"),
    _t(41, "temporary failure"),
    _t(42, "congestion"),
    _t(47, "resources unavailable"),
    _p(50, "requested facility not subscribed"),
    _p(69, "requested facility not implemented"),
    _p(81, "invalid short message transfer reference value"),
    _p(95, "invalid message"),
    _p(96, "invalid mandatory information"),
    _p(97, "message type non-existent or not implemented"),
    _p(98, "message not compatible with short message protocol state"),
    _p(99, "information element non-existent or not implemented"),
    _t(111, "protocol error, unspecified", 2),
    _p(127, "interworking, unspecified"),
    _p(128, "telematic interworking not supported"),
    _p(176, "TPDU not supported"),
    _t(192, "SC busy"),
    _p(193, "no SC subscription"),
    _t(194, "SC system failure"),
    _p(195, "invalid SME address"),
    _p(196, "destination SME barred"),
    _p(208, "SIM SMS storage full"),
    _p(300, "ME failure"),
    _p(301, "SMS service of ME reserved"),
    _p(302, "operation not allowed"),
    _p(303, "operation not supported"),
    _p(304, "invalid PDU mode parameter"),
    _p(305, "invalid text mode parameter"),
    _t(310, "SIM not inserted"),
    _p(311, "SIM PIN required"),
    _p(312, "PH-SIM PIN required"),
    _t(313, "SIM failure"),
    _t(314, "SIM busy"),
    _t(315, "SIM wrong"),
    _p(316, "SIM PUK required"),
    _p(317, "SIM PIN2 required"),
    _p(318, "SIM PUK2 required"),
    _p(320, "memory failure"),
    _p(321, "invalid memory index"),
    _p(322, "memory full"),
    _p(330, "SMSC address unknown"),
    _t(331, "no network service"),
    _t(332, "network timeout"),
    _p(340, "no +CNMA acknowledgement expected"),
    _t(500, "unknown error", 2),
    _t(512, "manufacturer specific: SIM not ready / MM establishment failure", 2),
    _t(513, "manufacturer specific: lower layer failure", 2),
    _t(515, "manufacturer specific: please wait, init or command processing in progress", 3),
    _t(517, "manufacturer specific: SMS service not ready", 3),
    _t(538, "manufacturer specific: invalid parameter / network reject", 2),
)}

_CME: dict[int, ErrorInfo] = {e.code: e for e in (
    _p(0, "phone failure"),
    _p(1, "no connection to phone"),
    _p(3, "operation not allowed"),
    _p(4, "operation not supported"),
    _p(5, "PH-SIM PIN required"),
    _t(10, "SIM not inserted"),
    _p(11, "SIM PIN required"),
    _p(12, "SIM PUK required"),
    _t(13, "SIM failure"),
    _t(14, "SIM busy"),
    _t(15, "SIM wrong"),
    _p(16, "incorrect password"),
    _p(17, "SIM PIN2 required"),
    _p(18, "SIM PUK2 required"),
    _p(20, "memory full"),
    _p(21, "invalid index"),
    _p(22, "not found"),
    _p(23, "memory failure"),
    _p(24, "text string too long"),
    _p(25, "invalid characters in text string"),
    _p(26, "dial string too long"),
    _p(27, "invalid characters in dial string"),
    _t(30, "no network service"),
    _t(31, "network timeout"),
    _p(32, "network not allowed, emergency calls only"),
    _p(40, "network personalisation PIN required"),
    _t(100, "unknown", 2),
    _p(103, "illegal MS"),
    _p(106, "illegal ME"),
    _t(107, "GPRS services not allowed"),
    _t(111, "PLMN not allowed"),
    _t(112, "location area not allowed"),
    _t(113, "roaming not allowed in this location area"),
    _t(148, "unspecified GPRS error", 2),
    _t(515, "manufacturer specific: please wait", 3),
)}

SIM_BUSY_CME = frozenset({14, 515})
SIM_BUSY_CMS = frozenset({314, 515, 512, 517})
STORAGE_FULL_CMS = frozenset({322, 208})
STORAGE_FULL_CME = frozenset({20})
WRONG_PIN_CME = frozenset({16})


def lookup_cms(code: int) -> ErrorInfo:
    """Table entry for +CMS ERROR <code>; unknown codes are permanent (we cannot know better)."""
    info = _CMS.get(code)
    if info is not None:
        return info
    if 128 <= code <= 255:
        return ErrorInfo(code, "TP-FCS error", False, 0)
    return ErrorInfo(code, f"unlisted CMS error {code}", False, 0)


def lookup_cme(code: int) -> ErrorInfo:
    """Table entry for +CME ERROR <code>; unknown codes are permanent."""
    return _CME.get(code) or ErrorInfo(code, f"unlisted CME error {code}", False, 0)


class SendError(ModemError):
    """A part could not be sent; `code` is the modem's CMS/CME code when there was one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason if code is None else f"{reason} (code {code})")
        self.reason = reason
        self.code = code


class TransientSendError(SendError):
    """Nothing was sent; retry later, possibly on another line. `max_retries` from the table."""

    def __init__(self, reason: str, code: int | None = None, max_retries: int | None = None) -> None:
        super().__init__(reason, code)
        self.max_retries = max_retries


class PermanentSendError(SendError):
    """The network or modem refused this message: fail it at once."""


class OutcomeUnknownError(SendError):
    """Timeout after Ctrl-Z: the part may or may not have gone out. Never resend automatically."""


class LineUnavailableError(SendError):
    """The line is unknown, not ready or bound to another SIM: nothing was sent."""


def send_error_from(exc: CommandError) -> SendError:
    """Map the final error of AT+CMGS to the SendError the dispatcher acts on."""
    info = exc.info
    if info is None:
        # A bare ERROR to AT+CMGS is usually a modem hiccup (busy, prompt refused): retry a little.
        if exc.kind in ("CME", "CMS") and exc.text:
            return TransientSendError(f"modem said +{exc.kind} ERROR: {exc.text}", None, 2)
        return TransientSendError(f"modem answered {exc.kind}", None, 2)
    reason = f"+{exc.kind} ERROR {info.code}: {info.name}"
    if info.transient:
        return TransientSendError(reason, info.code, info.max_retries)
    return PermanentSendError(reason, info.code)

"""Sans-IO AT parser: bytes from the modem in, typed events out (no I/O, no clocks).

The caller (the session) tells the parser which command is in flight (`command_started`) and what
it wrote (so echoes are recognised); the parser never guesses a URC from "is someone waiting?":
unsolicited codes are matched by a prefix registry, and a prefix such as `+CREG:` is taken as the
answer only while the command in flight queries that very prefix (`AT+CREG?`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass

CTRL_Z = "\x1a"
ESC = "\x1b"


class ResultKind(enum.Enum):
    """Kinds of final result code that end a command."""

    OK = "OK"
    ERROR = "ERROR"
    CME = "CME"
    CMS = "CMS"
    NO_CARRIER = "NO CARRIER"
    BUSY = "BUSY"
    NO_ANSWER = "NO ANSWER"
    NO_DIALTONE = "NO DIALTONE"
    NOT_SUPPORTED = "COMMAND NOT SUPPORT"


@dataclass(frozen=True)
class Echo:
    """The modem repeating what we wrote (echo on, or the PDU typed after the prompt)."""

    text: str


@dataclass(frozen=True)
class InfoLine:
    """An intermediate line answering the command in flight (or a stray line when none is)."""

    text: str


@dataclass(frozen=True)
class FinalResult:
    """The line that ends a command; `code` is set for +CME/+CMS errors given as numbers."""

    kind: ResultKind
    code: int | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        return self.kind is ResultKind.OK


@dataclass(frozen=True)
class Prompt:
    """The `> ` prompt asking for the PDU of AT+CMGS/AT+CMGW."""


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code; `pdu` holds the line that follows +CMT/+CDS in PDU mode."""

    name: str
    line: str
    pdu: str | None = None

    @property
    def args(self) -> str:
        """The text after `NAME:` (empty for bare codes such as RING)."""
        _, sep, rest = self.line.partition(":")
        return rest.strip() if sep else ""


AtEvent = Echo | InfoLine | FinalResult | Prompt | Urc


@dataclass(frozen=True)
class UrcSpec:
    """One registry entry: lines starting with `prefix` are the URC `name`.

    `pdu_follows` marks codes whose next line is a PDU (+CMT always; +CDS when its header is a
    bare length, i.e. PDU mode). `queryable` marks prefixes that are also the answer of
    `AT<name>?` / `AT<name>=?` / `AT<name>`: while such a command is in flight they are info lines.
    """

    prefix: str
    name: str
    pdu_follows: bool = False
    queryable: bool = False


GENERIC_URCS: tuple[UrcSpec, ...] = (
    UrcSpec("+CMTI:", "+CMTI"),
    UrcSpec("+CMT:", "+CMT", pdu_follows=True),
    UrcSpec("+CDSI:", "+CDSI"),
    UrcSpec("+CDS:", "+CDS", pdu_follows=True),
    UrcSpec("+CBM:", "+CBM", pdu_follows=True),
    UrcSpec("+CREG:", "+CREG", queryable=True),
    UrcSpec("+CGREG:", "+CGREG", queryable=True),
    UrcSpec("+CEREG:", "+CEREG", queryable=True),
    UrcSpec("+C5GREG:", "+C5GREG", queryable=True),
    UrcSpec("RING", "RING"),
    UrcSpec("+CRING:", "+CRING"),
    UrcSpec("+CLIP:", "+CLIP", queryable=True),
    UrcSpec("+CUSD:", "+CUSD", queryable=True),
    UrcSpec("+CPIN:", "+CPIN", queryable=True),
    UrcSpec("+CFUN:", "+CFUN", queryable=True),
    UrcSpec("+CIEV:", "+CIEV"),
    UrcSpec("RDY", "RDY"),
    UrcSpec("Call Ready", "Call Ready"),
    UrcSpec("SMS Ready", "SMS Ready"),
    UrcSpec("PB DONE", "PB DONE"),
    UrcSpec("SMS DONE", "SMS DONE"),
    UrcSpec("^RSSI:", "^RSSI"),
    UrcSpec("^HCSQ:", "^HCSQ", queryable=True),
    UrcSpec("^BOOT:", "^BOOT"),
    UrcSpec("^MODE:", "^MODE"),
    UrcSpec("^SRVST:", "^SRVST"),
    UrcSpec("^SIMST:", "^SIMST"),
    UrcSpec("^STIN:", "^STIN"),
    UrcSpec("^DSFLOWRPT:", "^DSFLOWRPT"),
    UrcSpec("+QIND:", "+QIND"),
    UrcSpec("+QUSIM:", "+QUSIM"),
    UrcSpec("*PSUTTZ:", "*PSUTTZ"),
    UrcSpec("DST:", "DST"),
    UrcSpec("+CTZV:", "+CTZV"),
    UrcSpec("+CTZE:", "+CTZE"),
    UrcSpec("+PACSP", "+PACSP"),
    UrcSpec("+CPINR:", "+CPINR", queryable=True),
    UrcSpec("+CGEV:", "+CGEV"),
    UrcSpec("+CSQN:", "+CSQN"),
    UrcSpec("+STIN:", "+STIN"),
    UrcSpec("NORMAL POWER DOWN", "NORMAL POWER DOWN"),
    UrcSpec("UNDER-VOLTAGE", "UNDER-VOLTAGE"),
    UrcSpec("OVER-VOLTAGE", "OVER-VOLTAGE"),
)


class UrcRegistry:
    """Prefix table of unsolicited codes; dialects extend it with their own noise."""

    def __init__(self, specs: Iterable[UrcSpec] = GENERIC_URCS) -> None:
        self._specs: list[UrcSpec] = []
        self.extend(specs)

    def extend(self, specs: Iterable[UrcSpec]) -> None:
        """Add entries; longer prefixes win so `+CMTI:` is never read as `+CMT`."""
        known = {s.prefix for s in self._specs}
        self._specs.extend(s for s in specs if s.prefix not in known)
        self._specs.sort(key=lambda s: len(s.prefix), reverse=True)

    def match(self, line: str) -> UrcSpec | None:
        """The entry whose prefix starts `line` (case-sensitive, as modems send them)."""
        for spec in self._specs:
            if line.startswith(spec.prefix):
                # A bare word (RING, RDY) must be the whole line, not a prefix of something else.
                rest = line[len(spec.prefix):]
                if spec.prefix[-1].isalnum() and rest and rest[0].isalnum():
                    continue
                return spec
        return None


_CME_RE = re.compile(r"^\+(CME|CMS) ERROR:\s*(.*)$")
_COMMAND_LINE = re.compile(r"^AT(?:$|[+^&*$#%\\]|[A-Z](?:$|[0-9=?+;]))", re.IGNORECASE)
_DIAL_FINALS = {
    "NO CARRIER": ResultKind.NO_CARRIER,
    "BUSY": ResultKind.BUSY,
    "NO ANSWER": ResultKind.NO_ANSWER,
    "NO DIALTONE": ResultKind.NO_DIALTONE,
}
# Bytes that appear around power-up or line noise and must not stick to the first real line.
_JUNK = "".join(chr(c) for c in range(0x20) if c not in (0x09,)) + "\ufffd\x7f\xa0\xff"


def _final(line: str) -> FinalResult | None:
    if line == "OK":
        return FinalResult(ResultKind.OK)
    if line == "ERROR":
        return FinalResult(ResultKind.ERROR)
    if line.startswith("COMMAND NOT SUPPORT"):
        return FinalResult(ResultKind.NOT_SUPPORTED, text=line)
    m = _CME_RE.match(line)
    if m:
        kind = ResultKind.CME if m.group(1) == "CME" else ResultKind.CMS
        detail = m.group(2).strip().strip('"')
        # isdigit() alone accepts '²' (which int() refuses) and non-ASCII digits no modem sends.
        code = int(detail) if detail.isascii() and detail.isdigit() else None
        return FinalResult(kind, code, detail)
    return None


def command_stem(command: str) -> tuple[str, bool]:
    """('+CREG', True) for 'AT+CREG?': the command name and whether it reads/tests/executes."""
    body = command.strip()
    if body[:2].upper() == "AT":
        body = body[2:]
    m = re.match(r"^([+^*$#%]?[A-Za-z0-9]+)", body)
    stem = m.group(1).upper() if m else body.upper()
    rest = body[len(stem):]
    querying = rest in ("", "?", "=?")
    return stem, querying


class AtParser:
    """Incremental parser. Call `feed(data)`; it returns the events completed by those bytes."""

    def __init__(self, registry: UrcRegistry | None = None) -> None:
        self.registry = registry or UrcRegistry()
        self._buf = ""
        self._echoes: list[str] = []
        self._command: str | None = None
        self._stem: str | None = None
        self._querying = False
        self._dial = False
        self._pending_pdu: Urc | None = None
        self._decoder_tail = b""

    # -- what the session tells us ---------------------------------------------------------
    def command_started(self, command: str) -> None:
        """A command line (without CR) is about to be written and is now in flight."""
        self._command = command
        self._stem, self._querying = command_stem(command)
        upper = command.strip().upper()
        self._dial = upper.startswith(("ATD", "ATA", "ATO"))
        self._echoes = [_clean(command)]

    def data_sent(self, text: str) -> None:
        """Text written outside a command line (the PDU after the prompt): its echo is expected."""
        cleaned = _clean(text.replace(CTRL_Z, "").replace(ESC, ""))
        if cleaned:
            self._echoes.append(cleaned)

    def command_finished(self) -> None:
        """No command is in flight any more (after its final result or a timeout)."""
        self._command = None
        self._stem = None
        self._querying = False
        self._dial = False
        self._echoes = []

    @property
    def command(self) -> str | None:
        return self._command

    # -- bytes in, events out --------------------------------------------------------------
    def feed(self, data: bytes) -> list[AtEvent]:
        """Consume bytes; never raises whatever the bytes are."""
        text = self._decode(data)
        events: list[AtEvent] = []
        for ch in text:
            if ch in "\r\n":
                if self._buf:
                    line, self._buf = self._buf, ""
                    self._line(line, events)
                continue
            if ch == "\x00":
                continue
            self._buf += ch
            # The prompt has no line terminator: it is a '>' at the start of a line.
            if self._buf.lstrip(_JUNK + " ") == ">" and self._pending_pdu is None:
                self._buf = ""
                events.append(Prompt())
        return events

    def _decode(self, data: bytes) -> str:
        # Keep an incomplete UTF-8 sequence for the next feed; anything invalid becomes U+FFFD.
        raw = self._decoder_tail + data
        cut = len(raw)
        for back in range(1, min(4, len(raw)) + 1):
            b = raw[-back]
            if b & 0xC0 == 0x80:
                continue
            if b >= 0xC0:
                need = 2 if b < 0xE0 else 3 if b < 0xF0 else 4
                if need > back:
                    cut = len(raw) - back
            break
        self._decoder_tail = raw[cut:]
        return raw[:cut].decode("utf-8", errors="replace")

    def _line(self, raw: str, events: list[AtEvent]) -> None:
        line = raw.strip(_JUNK + " ")
        if not line:
            return
        if self._pending_pdu is not None:
            urc, self._pending_pdu = self._pending_pdu, None
            events.append(Urc(urc.name, urc.line, line))
            return
        cleaned = _clean(line)
        if self._echoes and cleaned in self._echoes:
            self._echoes.remove(cleaned)
            events.append(Echo(line))
            return
        if _COMMAND_LINE.match(line):
            # A command line can only be an echo (ours or one typed by someone else).
            events.append(Echo(line))
            return
        final = _final(line)
        if final is not None:
            events.append(final)
            self.command_finished()
            return
        dial = _DIAL_FINALS.get(line)
        if dial is not None:
            if self._dial:
                events.append(FinalResult(dial, text=line))
                self.command_finished()
            else:
                events.append(Urc(line, line))
            return
        spec = self.registry.match(line)
        if spec is not None and not self._solicited(spec):
            urc = Urc(spec.name, line)
            if spec.pdu_follows and _pdu_header(spec, line):
                self._pending_pdu = urc
            else:
                events.append(urc)
            return
        events.append(InfoLine(line))

    def _solicited(self, spec: UrcSpec) -> bool:
        return spec.queryable and self._querying and self._stem == spec.name.upper()


def _clean(text: str) -> str:
    return text.strip(_JUNK + " ").upper()


def _pdu_header(spec: UrcSpec, line: str) -> bool:
    """+CDS in text mode is one line; in PDU mode its header is only the length."""
    if spec.name != "+CDS":
        return True
    return line.partition(":")[2].strip().isdigit()

"""Pure parse_* helpers for AT information lines (3GPP TS 27.005 / 27.007 syntax).

Each helper takes the text the parser delivered and returns a frozen value, raising
`ReplyError` (a ValueError) naming the line when it cannot make sense of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass


class ReplyError(ValueError):
    """An information line that does not have the documented shape."""


def split_fields(args: str) -> list[str]:
    """Split `a,"b,c",(1-2),d` on top-level commas, keeping quoted strings and ranges whole."""
    fields: list[str] = []
    cur: list[str] = []
    quoted = False
    depth = 0
    for ch in args:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and not quoted and depth == 0:
            fields.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    fields.append("".join(cur).strip())
    return fields


def unquote(field: str) -> str:
    """`"SM"` → `SM` (fields without quotes are returned stripped)."""
    field = field.strip()
    if len(field) >= 2 and field[0] == field[-1] == '"':
        return field[1:-1]
    return field


def args_of(line: str, prefix: str) -> str:
    """The text after `PREFIX:`; ReplyError when the line has another prefix."""
    head, sep, rest = line.partition(":")
    if not sep or head.strip().upper() != prefix.upper():
        raise ReplyError(f"expected {prefix}: line, got {line!r}")
    return rest.strip()


def _int(field: str, line: str) -> int:
    try:
        return int(unquote(field))
    except ValueError:
        raise ReplyError(f"not a number {field!r} in {line!r}") from None


def parse_int_set(field: str) -> frozenset[int]:
    """`(0-2,4)` or `(0,1)` or `0` → the set of allowed values."""
    body = field.strip().strip("()")
    values: set[int] = set()
    for item in body.split(","):
        item = item.strip()
        if not item:
            continue
        lo, dash, hi = item.partition("-")
        try:
            first, last = (int(lo), int(hi)) if dash else (int(item), int(item))
        except ValueError:
            raise ReplyError(f"not a range {field!r}") from None
        if last - first > 255:  # parameter ranges are tiny; a noisy line must not build a huge set
            raise ReplyError(f"range too wide {field!r}")
        values.update(range(first, last + 1))
    return frozenset(values)


@dataclass(frozen=True)
class Signal:
    """+CSQ: RSSI 0–31 and BER 0–7, None for 99 (unknown)."""

    rssi: int | None
    ber: int | None

    @property
    def dbm(self) -> int | None:
        return None if self.rssi is None else -113 + 2 * self.rssi


def parse_csq(line: str) -> Signal:
    """`+CSQ: 21,99` → Signal(21, None)."""
    fields = split_fields(args_of(line, "+CSQ"))
    if len(fields) < 2:
        raise ReplyError(f"+CSQ needs two fields: {line!r}")
    rssi, ber = _int(fields[0], line), _int(fields[1], line)
    return Signal(None if rssi == 99 or rssi > 31 else rssi, None if ber == 99 else ber)


REGISTERED_STATES = frozenset({1, 5, 6, 7, 9, 10})
ROAMING_STATES = frozenset({5, 7, 10})


@dataclass(frozen=True)
class Registration:
    """+CREG/+CGREG/+CEREG status: stat 1 home, 5 roaming, 6/7 SMS-only, 3 denied…"""

    kind: str           # "+CREG", "+CGREG", "+CEREG"
    stat: int
    lac: str | None = None
    ci: str | None = None
    act: int | None = None

    @property
    def registered(self) -> bool:
        return self.stat in REGISTERED_STATES

    @property
    def roaming(self) -> bool:
        return self.stat in ROAMING_STATES


def parse_registration(line: str, *, solicited: bool) -> Registration:
    """A +CREG/+CGREG/+CEREG line; a solicited answer (`AT+CREG?`) starts with the mode `n`."""
    kind = line.partition(":")[0].strip().upper()
    if kind not in ("+CREG", "+CGREG", "+CEREG", "+C5GREG"):
        raise ReplyError(f"not a registration line: {line!r}")
    fields = split_fields(args_of(line, kind))
    if solicited:
        if len(fields) < 2:
            raise ReplyError(f"{kind}? answer needs mode and status: {line!r}")
        fields = fields[1:]
    stat = _int(fields[0], line)
    lac = unquote(fields[1]) if len(fields) > 1 and fields[1] else None
    ci = unquote(fields[2]) if len(fields) > 2 and fields[2] else None
    act = _int(fields[3], line) if len(fields) > 3 and fields[3].strip().isdigit() else None
    return Registration(kind, stat, lac, ci, act)


@dataclass(frozen=True)
class Operator:
    """+COPS?: mode, the operator (format 0 long name, 2 numeric) and access technology."""

    mode: int
    name: str | None
    act: int | None


def parse_cops(line: str) -> Operator:
    """`+COPS: 0,0,"Orange F",7` → Operator(0, 'Orange F', 7); `+COPS: 0` → no operator."""
    fields = split_fields(args_of(line, "+COPS"))
    mode = _int(fields[0], line)
    name = unquote(fields[2]) if len(fields) > 2 and fields[2] else None
    act = _int(fields[3], line) if len(fields) > 3 and fields[3].strip().isdigit() else None
    return Operator(mode, name or None, act)


@dataclass(frozen=True)
class Storage:
    """One message storage area (memory name, used slots, total slots)."""

    memory: str | None
    used: int
    total: int


def parse_cpms(line: str) -> list[Storage]:
    """`+CPMS: "SM",3,30,"SM",3,30,…` (query) or `+CPMS: 3,30,3,30,…` (set) → storages."""
    fields = split_fields(args_of(line, "+CPMS"))
    out: list[Storage] = []
    named = bool(fields) and fields[0].startswith('"')
    step = 3 if named else 2
    if len(fields) < step:
        raise ReplyError(f"+CPMS too short: {line!r}")
    for i in range(0, len(fields) - step + 1, step):
        if named:
            out.append(Storage(unquote(fields[i]), _int(fields[i + 1], line), _int(fields[i + 2], line)))
        else:
            out.append(Storage(None, _int(fields[i], line), _int(fields[i + 1], line)))
    return out


def parse_cpms_test(line: str) -> list[tuple[str, ...]]:
    """`+CPMS: ("SM","ME"),("SM","ME"),("SM")` → the memories allowed for mem1, mem2, mem3."""
    fields = split_fields(args_of(line, "+CPMS"))
    out = []
    for f in fields:
        body = f.strip().strip("()")
        out.append(tuple(unquote(m) for m in split_fields(body) if unquote(m)))
    if not out or not out[0]:
        raise ReplyError(f"+CPMS=? without memories: {line!r}")
    return out


@dataclass(frozen=True)
class CnmiSupport:
    """The values `AT+CNMI=?` allows for mode, mt, bm, ds, bfr."""

    mode: frozenset[int]
    mt: frozenset[int]
    bm: frozenset[int]
    ds: frozenset[int]
    bfr: frozenset[int]


def parse_cnmi_test(line: str) -> CnmiSupport:
    """`+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)` → CnmiSupport (missing fields become {0})."""
    fields = split_fields(args_of(line, "+CNMI"))
    sets = [parse_int_set(f) for f in fields] + [frozenset({0})] * 5
    return CnmiSupport(*sets[:5])


@dataclass(frozen=True)
class StoredPdu:
    """One message in modem storage as listed by +CMGL or read by +CMGR."""

    index: int
    stat: int
    length: int
    pdu: str


def parse_cmgl(lines: Sequence[str]) -> list[StoredPdu]:
    """Info lines of `AT+CMGL=4` (header, PDU, header, PDU…) → stored PDUs in listed order."""
    out: list[StoredPdu] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("+CMGL:"):
            i += 1  # stray line (some firmwares add blank-ish noise): skip it
            continue
        fields = split_fields(args_of(line, "+CMGL"))
        if len(fields) < 3 or i + 1 >= len(lines) or lines[i + 1].startswith("+CMGL:"):
            raise ReplyError(f"+CMGL entry without PDU: {line!r}")
        out.append(StoredPdu(_int(fields[0], line), _int(fields[1], line), _int(fields[-1], line),
                             lines[i + 1].strip()))
        i += 2
    return out


def parse_cmgr(index: int, lines: Sequence[str]) -> StoredPdu | None:
    """Info lines of `AT+CMGR=<index>` → the PDU, or None when the slot is empty."""
    for pos, line in enumerate(lines):
        if line.startswith("+CMGR:"):
            fields = split_fields(args_of(line, "+CMGR"))
            if pos + 1 >= len(lines):
                return None  # header only: some firmwares say this for an empty slot
            stat = _int(fields[0], line)
            length = _int(fields[-1], line) if len(fields) > 1 else 0
            return StoredPdu(index, stat, length, lines[pos + 1].strip())
    return None


def parse_index_urc(line: str) -> tuple[str, int]:
    """`+CMTI: "SM",3` / `+CDSI: "SR",1` → (memory, index)."""
    kind = line.partition(":")[0].strip()
    fields = split_fields(args_of(line, kind))
    if len(fields) < 2:
        raise ReplyError(f"{kind} needs memory and index: {line!r}")
    return unquote(fields[0]), _int(fields[1], line)


def parse_clip(line: str) -> str | None:
    """`+CLIP: "+33612345678",145,…` → the number ('' or withheld → None)."""
    fields = split_fields(args_of(line, "+CLIP"))
    number = unquote(fields[0]) if fields else ""
    if not number:
        return None
    if len(fields) > 1 and fields[1].strip() == "145" and not number.startswith("+"):
        number = "+" + number
    return number


def parse_cmgs(line: str) -> int:
    """`+CMGS: 12` (optionally `,<scts>`) → TP-MR 12."""
    fields = split_fields(args_of(line, "+CMGS"))
    mr = _int(fields[0], line)
    if not 0 <= mr <= 255:
        raise ReplyError(f"message reference out of range: {line!r}")
    return mr


def parse_cpin(line: str) -> str:
    """`+CPIN: READY` → 'READY' (or 'SIM PIN', 'SIM PUK', …)."""
    return unquote(args_of(line, "+CPIN")).upper()


def parse_csca(line: str) -> str | None:
    """`+CSCA: "+33689004000",145` → '+33689004000'."""
    fields = split_fields(args_of(line, "+CSCA"))
    number = unquote(fields[0]) if fields else ""
    if number and len(fields) > 1 and fields[1].strip() == "145" and not number.startswith("+"):
        number = "+" + number
    return number or None


def parse_cnum(lines: Sequence[str]) -> str | None:
    """The SIM's own number from `+CNUM: "Voice","+33612345678",145` (the first line with one); None
    when the SIM does not hold it (many prepaid SIMs: an empty answer, or an empty number)."""
    for line in lines:
        if not line.upper().startswith("+CNUM:"):
            continue
        fields = split_fields(args_of(line, "+CNUM"))
        number = unquote(fields[1]) if len(fields) > 1 else ""
        if number and len(fields) > 2 and fields[2].strip() == "145" and not number.startswith("+"):
            number = "+" + number
        if number:
            return number
    return None


_ICCID_RE = re.compile(r"([0-9A-Fa-f]{18,22})")


def parse_iccid(lines: Sequence[str]) -> str | None:
    """ICCID from `+CCID: 8933…`, `+ICCID: …`, `^ICCID: …` or a bare line; trailing F dropped."""
    for line in lines:
        m = _ICCID_RE.search(line.partition(":")[2] if ":" in line else line)
        if m:
            iccid = m.group(1).upper()
            if iccid.startswith("98"):
                # Raw EF_ICCID (Huawei ^ICCID, +CRSM): BCD with swapped nibbles; real ones start 89.
                iccid = "".join(iccid[i + 1] + iccid[i] for i in range(0, len(iccid) - 1, 2))
            return iccid.rstrip("F")
    return None


def first_digits(lines: Sequence[str], minimum: int = 6) -> str | None:
    """The first run of at least `minimum` digits (IMEI from AT+CGSN, IMSI from AT+CIMI)."""
    for line in lines:
        m = re.search(r"(\d{%d,})" % minimum, line)
        if m:
            return m.group(1)
    return None


def strip_prefix(line: str) -> str:
    """`+CGMM: EC25` → 'EC25'; a bare line is returned as it is."""
    m = re.match(r"^[+^$#*][A-Z]+:\s*(.*)$", line)
    return unquote(m.group(1)) if m else line.strip()

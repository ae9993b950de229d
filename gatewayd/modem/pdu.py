"""SMS PDU codec (TS 23.040 TPDUs as carried by TS 27.005 PDU mode): pure, no I/O.

Outbound: SMS-SUBMIT parts (`encode_submit`). Inbound: `decode` of SMS-DELIVER,
SMS-STATUS-REPORT and SMS-SUBMIT (the simulator reads what the driver sends).

Why this does not call python-gsmmodem's `gsmmodem.pdu` at run time, although DESIGN prefers it
where it is right: the parts it gets right (septet packing, semi-octet digits, the relative
validity table, the greedy GSM-7 split) are a few lines each, while its decoder is built on bare
iterators that leak StopIteration/ValueError/TypeError on malformed input (our contract is
"PduError only"), and around those right parts it carries the defects this module exists to
fix: emoji raise on encode and decode to lone surrogates; the 16-bit concatenation IE eats the
first GSM-7 character; '§' is replaced by '`' in its table; a trailing '@' is dropped; 8-bit and
message-class data coding schemes decode as GSM-7 garbage; a reference above 255 is written into
the one-octet TP-MR and crashes; status 0x20-0x3F counts as failed. Its `pdu` module is kept as
a test oracle instead: tests check byte-for-byte agreement wherever it is right.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from math import ceil
from typing import Literal

from gatewayd.modem import gsm7
from gatewayd.modem.events import Concat
from gatewayd.modem.segments import plan

Alphabet = Literal["GSM-7", "UCS-2", "8-bit"]
UD_MAX_OCTETS = 140


class PduError(ValueError):
    """A PDU that cannot be built or decoded; the message says what is wrong and where."""


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class SubmitPart:
    """One SMS-SUBMIT ready for AT+CMGS=<tpdu_length> (hex includes the SMSC field)."""

    hex: str
    tpdu_length: int
    sequence: int
    total: int
    text: str


@dataclass(frozen=True)
class Deliver:
    """A decoded SMS-DELIVER (one part)."""

    sender: str
    text: str
    smsc_time: datetime | None
    concat: Concat | None
    encoding: Alphabet
    smsc: str | None = None
    sender_toa: int = 0x91
    message_class: int | None = None
    protocol_id: int = 0
    status_report_indication: bool = False
    payload: bytes = b""  # user data after the UDH: septet values (GSM-7) or octets
    information_elements: tuple[tuple[int, bytes], ...] = ()
    undecodable: str | None = None  # why `text` is empty although user data was present


@dataclass(frozen=True)
class StatusReportPdu:
    """A decoded SMS-STATUS-REPORT (TP-ST values per TS 23.040 §9.2.3.15)."""

    reference: int
    recipient: str
    status: int
    scts: datetime | None
    discharge_time: datetime | None
    smsc: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status <= 0x1F

    @property
    def final(self) -> bool:
        """False while the SC is still trying (0x20-0x3F); such a report is not a failure."""
        return not 0x20 <= self.status <= 0x3F

    @property
    def failed(self) -> bool:
        return self.status >= 0x40


@dataclass(frozen=True)
class Submit:
    """A decoded SMS-SUBMIT (what a phone or our driver hands to the SC)."""

    reference: int
    recipient: str
    text: str
    concat: Concat | None
    encoding: Alphabet
    status_report: bool
    validity: timedelta | datetime | None = None
    smsc: str | None = None
    recipient_toa: int = 0x91
    reject_duplicates: bool = False
    message_class: int | None = None
    protocol_id: int = 0
    payload: bytes = b""
    information_elements: tuple[tuple[int, bytes], ...] = ()
    undecodable: str | None = None


# ---------------------------------------------------------------- fields

_DIGITS = "0123456789*#abc"


class _Reader:
    """Bounds-checked cursor over the PDU octets; every overrun is a PduError naming the field."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise PduError(
                f"PDU truncated in {what}: needs {n} octet(s) at offset {self.pos}, "
                f"{len(self.data) - self.pos} left"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]

    def rest(self) -> bytes:
        return self.data[self.pos :]


def encode_number(number: str) -> tuple[int, bytes]:
    """A phone number ('+' and digits, or digits) to (type of address, semi-octets)."""
    digits = number[1:] if number.startswith("+") else number
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 20:
        raise PduError(f"address {number!r} must be '+' and/or 1-20 digits")
    toa = 0x91 if number.startswith("+") else 0x81
    padded = digits + ("F" if len(digits) % 2 else "")
    return toa, bytes(int(padded[i + 1] + padded[i], 16) for i in range(0, len(padded), 2))


def encode_address(address: str) -> bytes:
    """TP-DA/TP-OA field: numbers as semi-octets, anything else as a GSM-7 alphanumeric name."""
    if address.lstrip("+").isascii() and address.lstrip("+").isdigit():
        toa, body = encode_number(address)
        return bytes((len(address.lstrip("+")), toa)) + body
    try:
        septets = gsm7.encode(address)
    except ValueError as exc:
        raise PduError(f"alphanumeric address {address!r}: {exc}") from None
    if not septets or len(septets) > 11:
        raise PduError(f"alphanumeric address {address!r} must be 1-11 GSM-7 characters")
    return bytes((ceil(len(septets) * 7 / 4), 0xD0)) + gsm7.pack(septets)


def encode_smsc(smsc: str | None) -> bytes:
    """The SMSC prefix of a PDU-mode PDU (a single 00 means 'the one stored in the modem')."""
    if not smsc:
        return b"\x00"
    toa, body = encode_number(smsc)
    return bytes((len(body) + 1, toa)) + body


def _decode_digits(body: bytes, count: int) -> str:
    out = []
    for octet in body:
        for nibble in (octet & 0x0F, octet >> 4):
            if len(out) < count and nibble != 0x0F:
                out.append(_DIGITS[nibble])
    return "".join(out)


def _read_address(r: _Reader, what: str) -> tuple[str, int]:
    length = r.byte(f"{what} length")
    if length == 0:
        r.take(1, f"{what} type")  # an empty address still carries its type octet
        return "", 0x81
    toa = r.byte(f"{what} type")
    body = r.take((length + 1) // 2, what)
    if (toa >> 4) & 0x07 == 0x05:
        septets = length * 4 // 7
        return gsm7.decode(gsm7.unpack(body, septets)), toa
    digits = _decode_digits(body, length)
    return ("+" + digits if (toa >> 4) & 0x07 == 0x01 else digits), toa


def _read_smsc(r: _Reader) -> str | None:
    length = r.byte("SMSC length")
    if length == 0:
        return None
    body = r.take(length, "SMSC address")
    digits = _decode_digits(body[1:], 2 * (length - 1))
    return "+" + digits if (body[0] >> 4) & 0x07 == 0x01 else digits


def _bcd(octet: int) -> int | None:
    lo, hi = octet & 0x0F, octet >> 4
    return None if lo > 9 or hi > 9 else lo * 10 + hi


def decode_timestamp(raw: bytes) -> datetime | None:
    """A 7-octet TP-SCTS/TP-DT; None when the network sent nonsense (the message still counts)."""
    fields = [_bcd(b) for b in raw[:6]]
    tz_lo, tz_hi = raw[6] & 0x0F, raw[6] >> 4
    if None in fields or (tz_lo & 0x07) > 9 or tz_hi > 9:
        return None
    yy, mo, dd, hh, mi, ss = (f for f in fields if f is not None)
    quarters = (tz_lo & 0x07) * 10 + tz_hi
    offset = timedelta(minutes=15 * quarters) * (-1 if tz_lo & 0x08 else 1)
    try:
        return datetime(2000 + yy if yy < 90 else 1900 + yy, mo, dd, hh, mi, ss, tzinfo=timezone(offset))
    except ValueError:
        return None


def encode_timestamp(when: datetime) -> bytes:
    """An aware datetime as a 7-octet TP-SCTS (offset kept, in quarter hours)."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise PduError("timestamp must be timezone-aware")
    offset = when.utcoffset() or timedelta(0)
    quarters = int(abs(offset.total_seconds()) // 900)
    if quarters > 79:
        raise PduError(f"UTC offset {offset} does not fit a TP-SCTS")
    digits = [when.year % 100, when.month, when.day, when.hour, when.minute, when.second]
    out = bytes((d % 10) << 4 | d // 10 for d in digits)
    tz = (quarters % 10) << 4 | quarters // 10 | (0x08 if offset < timedelta(0) else 0)
    return out + bytes((tz,))


def encode_relative_validity(validity: timedelta) -> int:
    """TP-VP (relative) for at least `validity` (rounded up to the next representable value)."""
    minutes = ceil(validity.total_seconds() / 60)
    if minutes <= 0:
        raise PduError(f"validity {validity} must be positive")
    if minutes <= 720:
        return max(0, ceil(minutes / 5) - 1)
    if minutes <= 1440:
        return 143 + ceil((minutes - 720) / 30)
    if ceil(minutes / 1440) <= 30:
        return 166 + ceil(minutes / 1440)
    if ceil(minutes / 10080) <= 63:
        return 192 + ceil(minutes / 10080)
    raise PduError(f"validity {validity} exceeds the 63-week maximum")


def decode_relative_validity(vp: int) -> timedelta:
    """TP-VP (relative) to a duration (TS 23.040 §9.2.3.12.1)."""
    if vp <= 143:
        return timedelta(minutes=(vp + 1) * 5)
    if vp <= 167:
        return timedelta(hours=12, minutes=(vp - 143) * 30)
    if vp <= 196:
        return timedelta(days=vp - 166)
    return timedelta(weeks=vp - 192)


# ---------------------------------------------------------------- user data


@dataclass(frozen=True)
class _Dcs:
    alphabet: Alphabet
    message_class: int | None
    compressed: bool


def _parse_dcs(dcs: int) -> _Dcs:
    """TS 23.038 §4 coding groups; reserved alphabets and groups fall back to GSM-7 as it says."""
    group = dcs >> 4
    if group < 0x8:  # general data coding, with or without automatic deletion
        alphabet: Alphabet = {1: "8-bit", 2: "UCS-2"}.get((dcs >> 2) & 3, "GSM-7")  # type: ignore[assignment]
        return _Dcs(alphabet, dcs & 3 if dcs & 0x10 else None, bool(dcs & 0x20))
    if group == 0xE:
        return _Dcs("UCS-2", None, False)
    if group == 0xF:
        return _Dcs("8-bit" if dcs & 0x04 else "GSM-7", dcs & 3, False)
    return _Dcs("GSM-7", None, False)


@dataclass(frozen=True)
class _UserData:
    text: str
    payload: bytes
    concat: Concat | None
    ies: tuple[tuple[int, bytes], ...]
    undecodable: str | None


def _parse_ies(header: bytes) -> tuple[tuple[int, bytes], ...]:
    ies = []
    i = 0
    while i < len(header):
        if i + 2 > len(header):
            raise PduError(f"user data header truncated at octet {i}")
        iei, length = header[i], header[i + 1]
        if i + 2 + length > len(header):
            raise PduError(f"information element 0x{iei:02X} overruns the user data header")
        ies.append((iei, bytes(header[i + 2 : i + 2 + length])))
        i += 2 + length
    return tuple(ies)


def _concat_of(ies: tuple[tuple[int, bytes], ...]) -> Concat | None:
    for iei, data in ies:
        if iei == 0x00 and len(data) == 3:
            ref, total, seq = data
        elif iei == 0x08 and len(data) == 4:
            ref, total, seq = data[0] << 8 | data[1], data[2], data[3]
        else:
            continue
        if total and 1 <= seq <= total:  # TS 23.040: otherwise ignore the element
            return Concat(reference=ref, total=total, sequence=seq)
    return None


def _read_user_data(r: _Reader, udhi: bool, dcs: _Dcs) -> _UserData:
    udl = r.byte("TP-UDL")
    septets = dcs.alphabet == "GSM-7" and not dcs.compressed
    size = ceil(udl * 7 / 8) if septets else udl
    ud = r.take(size, "user data")
    header = b""
    ies: tuple[tuple[int, bytes], ...] = ()
    if udhi:
        if not ud:
            raise PduError("TP-UDHI is set but the user data is empty")
        header = ud[: ud[0] + 1]
        if len(header) != ud[0] + 1:
            raise PduError(f"user data header length {ud[0]} exceeds the user data")
        ies = _parse_ies(header[1:])
    concat = _concat_of(ies)
    if dcs.compressed:
        return _UserData("", ud[len(header) :], concat, ies, "compressed user data (TS 23.042) is not supported")
    if septets:
        skip = ceil(len(header) * 8 / 7)  # the UDH plus its fill bits, in septets
        if skip > udl:
            raise PduError(f"TP-UDL {udl} septets is shorter than the {skip}-septet header")
        values = gsm7.unpack(ud, udl)[skip:]
        return _UserData(gsm7.decode(values), values, concat, ies, None)
    payload = ud[len(header) :]
    if dcs.alphabet == "UCS-2":
        # UTF-16 so pairs become one character; a lone half (a sender that split a pair) shows
        # U+FFFD rather than producing a string that cannot be stored. See reassemble().
        return _UserData(payload.decode("utf-16-be", errors="replace"), payload, concat, ies, None)
    reason = f"8-bit data ({len(payload)} octets), not text" if payload else None
    return _UserData("", payload, concat, ies, reason)


def reassemble(parts: list[Deliver] | list[Submit]) -> str:
    """Text of a concatenated message from its parts (any order), joining UCS-2 payloads first so
    a surrogate pair split across two parts by a careless sender still makes one emoji."""
    ordered = sorted(parts, key=lambda p: p.concat.sequence if p.concat else 0)
    out: list[str] = []
    pending = b""
    for part in ordered:
        if part.encoding == "UCS-2":
            pending += part.payload
            continue
        if pending:
            out.append(pending.decode("utf-16-be", errors="replace"))
            pending = b""
        out.append(part.text)
    if pending:
        out.append(pending.decode("utf-16-be", errors="replace"))
    return "".join(out)


# ---------------------------------------------------------------- encode


def user_data(text: str, alphabet: Literal["GSM-7", "UCS-2"], header: bytes = b"") -> tuple[int, bytes]:
    """(TP-UDL, TP-UD) for `text` after an optional UDH (given without its length octet)."""
    udh = bytes((len(header),)) + header if header else b""
    if alphabet == "GSM-7":
        # Fill bits after the UDH make the text start on a septet boundary (TS 23.040 §9.2.3.24).
        fill = (7 - len(udh) * 8 % 7) % 7
        septets = gsm7.encode(text)
        udl = ceil(len(udh) * 8 / 7) + len(septets)
        ud = udh + gsm7.pack(septets, fill)
    else:
        ud = udh + text.encode("utf-16-be")
        udl = len(ud)
    if len(ud) > UD_MAX_OCTETS:
        raise PduError(f"user data of {len(ud)} octets exceeds {UD_MAX_OCTETS}")
    return udl, ud


def concat_header(reference: int, total: int, sequence: int) -> bytes:
    """The concatenation IE: 8-bit reference when it fits, 16-bit otherwise."""
    if reference <= 0xFF:
        return bytes((0x00, 3, reference, total, sequence))
    return bytes((0x08, 4, reference >> 8, reference & 0xFF, total, sequence))


def encode_submit(
    number: str,
    text: str,
    *,
    reference: int,
    status_report: bool = True,
    validity: timedelta | None = None,
    smsc: str | None = None,
) -> list[SubmitPart]:
    """SMS-SUBMIT parts for `text` to `number`; one part when it fits (split as segments.plan).

    TP-MR is left 0: the modem assigns the real one and returns it in +CMGS."""
    if not 0 <= reference <= 0xFFFF:
        raise PduError(f"concatenation reference {reference} must be within 0-65535")
    try:
        p = plan(text, reference=reference)
    except ValueError as exc:
        raise PduError(str(exc)) from None
    toa, digits = encode_number(number)  # a recipient is never alphanumeric
    destination = bytes((len(number.lstrip("+")), toa)) + digits
    prefix = encode_smsc(smsc)
    vp = b"" if validity is None else bytes((encode_relative_validity(validity),))
    dcs = 0x00 if p.encoding == "GSM-7" else 0x08
    total = len(p.chunks)
    parts = []
    for seq, chunk in enumerate(p.chunks, start=1):
        header = concat_header(reference, total, seq) if total > 1 else b""
        udl, ud = user_data(chunk, p.encoding, header)
        first = 0x01 | (0x10 if vp else 0) | (0x20 if status_report else 0) | (0x40 if header else 0)
        tpdu = bytes((first, 0x00)) + destination + bytes((0x00, dcs)) + vp + bytes((udl,)) + ud
        parts.append(SubmitPart((prefix + tpdu).hex().upper(), len(tpdu), seq, total, chunk))
    return parts


# ---------------------------------------------------------------- decode


def decode(hex_pdu: str, *, tpdu_length: int | None = None) -> Deliver | StatusReportPdu | Submit:
    """Decode a PDU-mode PDU (SMSC field + TPDU) as read from the modem; raises PduError only.

    `tpdu_length` (the <length> of +CMGR/+CMT/+CDS) lets a PDU without SMSC prefix be recognised:
    some firmwares leave the prefix out of +CDS."""
    if not isinstance(hex_pdu, str):
        raise PduError(f"PDU must be a hex string, not {type(hex_pdu).__name__}")
    try:
        raw = bytes.fromhex(hex_pdu.strip())
    except ValueError:
        raise PduError(f"PDU is not hexadecimal: {hex_pdu[:40]!r}") from None
    if not raw:
        raise PduError("PDU is empty")
    r = _Reader(raw)
    try:
        smsc = None if tpdu_length is not None and tpdu_length == len(raw) else _read_smsc(r)
        first = r.byte("first octet")
        mti = first & 0x03
        if mti == 0x00:
            return _deliver(r, first, smsc)
        if mti == 0x01:
            return _submit(r, first, smsc)
        if mti == 0x02:
            return _status_report(r, smsc)
        raise PduError(f"reserved message type indicator 3 (first octet 0x{first:02X})")
    except PduError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as exc:  # pragma: no cover - safety net
        raise PduError(f"decoder bug on {hex_pdu[:40]!r}: {exc!r}") from exc


def _deliver(r: _Reader, first: int, smsc: str | None) -> Deliver:
    sender, toa = _read_address(r, "TP-OA")
    pid = r.byte("TP-PID")
    dcs = _parse_dcs(r.byte("TP-DCS"))
    scts = decode_timestamp(r.take(7, "TP-SCTS"))
    ud = _read_user_data(r, bool(first & 0x40), dcs)
    return Deliver(
        sender=sender, text=ud.text, smsc_time=scts, concat=ud.concat, encoding=dcs.alphabet,
        smsc=smsc, sender_toa=toa, message_class=dcs.message_class, protocol_id=pid,
        status_report_indication=bool(first & 0x20), payload=ud.payload,
        information_elements=ud.ies, undecodable=ud.undecodable,
    )


def _submit(r: _Reader, first: int, smsc: str | None) -> Submit:
    mr = r.byte("TP-MR")
    recipient, toa = _read_address(r, "TP-DA")
    pid = r.byte("TP-PID")
    dcs = _parse_dcs(r.byte("TP-DCS"))
    vpf = (first >> 3) & 0x03
    validity: timedelta | datetime | None = None
    if vpf == 0x02:
        validity = decode_relative_validity(r.byte("TP-VP"))
    elif vpf == 0x03:
        validity = decode_timestamp(r.take(7, "TP-VP"))
    elif vpf == 0x01:
        r.take(7, "TP-VP (enhanced)")  # enhanced format: skipped, never produced by us
    ud = _read_user_data(r, bool(first & 0x40), dcs)
    return Submit(
        reference=mr, recipient=recipient, text=ud.text, concat=ud.concat, encoding=dcs.alphabet,
        status_report=bool(first & 0x20), validity=validity, smsc=smsc, recipient_toa=toa,
        reject_duplicates=bool(first & 0x04), message_class=dcs.message_class, protocol_id=pid,
        payload=ud.payload, information_elements=ud.ies, undecodable=ud.undecodable,
    )


def _status_report(r: _Reader, smsc: str | None) -> StatusReportPdu:
    mr = r.byte("TP-MR")
    recipient, _ = _read_address(r, "TP-RA")
    scts = decode_timestamp(r.take(7, "TP-SCTS"))
    discharge = decode_timestamp(r.take(7, "TP-DT"))
    status = r.byte("TP-ST")
    # Optional TP-PI/PID/DCS/UD may follow; nothing in them matters for matching, so skip them.
    return StatusReportPdu(mr, recipient, status, scts, discharge, smsc)

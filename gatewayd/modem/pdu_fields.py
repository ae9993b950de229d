"""Fields of SMS TPDUs (TS 23.040 §9.1.2): addresses, SMSC prefix, timestamps, validity, and
the bounds-checked reader every decoder uses (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from math import ceil

from gatewayd.modem import gsm7


class PduError(ValueError):
    """A PDU that cannot be built or decoded; the message says what is wrong and where."""


_DIGITS = "0123456789*#abc"


class Reader:
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
    out: list[str] = []
    for octet in body:
        for nibble in (octet & 0x0F, octet >> 4):
            if len(out) < count and nibble != 0x0F:
                out.append(_DIGITS[nibble])
    return "".join(out)


def read_address(r: Reader, what: str) -> tuple[str, int]:
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


def read_smsc(r: Reader) -> str | None:
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

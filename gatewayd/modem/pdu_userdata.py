"""User data of SMS TPDUs: data coding schemes (TS 23.038 §4), the user data header and its
concatenation element, GSM-7 fill bits and UCS-2 (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from typing import Literal, Protocol

from gatewayd.modem import gsm7
from gatewayd.modem.events import Concat
from gatewayd.modem.pdu_fields import PduError, Reader

Alphabet = Literal["GSM-7", "UCS-2", "8-bit"]
UD_MAX_OCTETS = 140



@dataclass(frozen=True)
class Dcs:
    alphabet: Alphabet
    message_class: int | None
    compressed: bool


def parse_dcs(dcs: int) -> Dcs:
    """TS 23.038 §4 coding groups; reserved alphabets and groups fall back to GSM-7 as it says."""
    group = dcs >> 4
    if group < 0x8:  # general data coding, with or without automatic deletion
        coding = (dcs >> 2) & 3  # 0 GSM-7, 1 8-bit, 2 UCS-2, 3 reserved (read as GSM-7)
        alphabet: Alphabet = "8-bit" if coding == 1 else "UCS-2" if coding == 2 else "GSM-7"
        return Dcs(alphabet, dcs & 3 if dcs & 0x10 else None, bool(dcs & 0x20))
    if group == 0xE:
        return Dcs("UCS-2", None, False)
    if group == 0xF:
        return Dcs("8-bit" if dcs & 0x04 else "GSM-7", dcs & 3, False)
    return Dcs("GSM-7", None, False)


@dataclass(frozen=True)
class UserData:
    text: str
    payload: bytes
    concat: Concat | None
    ies: tuple[tuple[int, bytes], ...]
    undecodable: str | None


def parse_ies(header: bytes) -> tuple[tuple[int, bytes], ...]:
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


def concat_of(ies: tuple[tuple[int, bytes], ...]) -> Concat | None:
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


def read_user_data(r: Reader, udhi: bool, dcs: Dcs) -> UserData:
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
        ies = parse_ies(header[1:])
    concat = concat_of(ies)
    if dcs.compressed:
        return UserData("", ud[len(header) :], concat, ies, "compressed user data (TS 23.042) is not supported")
    if septets:
        skip = ceil(len(header) * 8 / 7)  # the UDH plus its fill bits, in septets
        if skip > udl:
            raise PduError(f"TP-UDL {udl} septets is shorter than the {skip}-septet header")
        values = gsm7.unpack(ud, udl)[skip:]
        return UserData(gsm7.decode(values), values, concat, ies, None)
    payload = ud[len(header) :]
    if dcs.alphabet == "UCS-2":
        # UTF-16 so pairs become one character; a lone half (a sender that split a pair) shows
        # U+FFFD rather than producing a string that cannot be stored. See reassemble().
        return UserData(payload.decode("utf-16-be", errors="replace"), payload, concat, ies, None)
    reason = f"8-bit data ({len(payload)} octets), not text" if payload else None
    return UserData("", payload, concat, ies, reason)


class Part(Protocol):
    """What reassembly needs of a decoded part (Deliver or Submit)."""

    @property
    def encoding(self) -> Alphabet: ...
    @property
    def payload(self) -> bytes: ...
    @property
    def text(self) -> str: ...
    @property
    def concat(self) -> Concat | None: ...


def reassemble(parts: Sequence[Part]) -> str:
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

"""GSM 03.38 / TS 23.038 default alphabet and extension table, and septet packing (pure).

The table here is the 3GPP one: 0x5F is '§' (python-gsmmodem has '`' there, which is not a
GSM-7 character at all) and 0x09 is 'Ç' as printed in TS 23.038. Characters outside both tables
cannot be sent in GSM-7 and force UCS-2; no lossy substitution happens, so what a user typed is
what the recipient reads.
"""

from __future__ import annotations

ESC = 0x1B

# Index = septet value. 0x1B is the escape to the extension table (never a character itself).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(BASIC) == 128

# Extension table (reached through ESC): each of these costs two septets.
EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_BASIC_CODE = {ch: code for code, ch in enumerate(BASIC) if code != ESC}
_EXT_CODE = {ch: code for code, ch in EXTENSION.items()}


def septet_cost(ch: str) -> int | None:
    """Septets `ch` takes in GSM-7 (1 or 2), or None when it is not in the alphabet."""
    if ch in _BASIC_CODE:
        return 1
    if ch in _EXT_CODE:
        return 2
    return None


def is_gsm7(text: str) -> bool:
    """True when every character of `text` exists in the default alphabet or its extension."""
    return all(septet_cost(ch) is not None for ch in text)


def non_gsm7(text: str) -> tuple[str, ...]:
    """Characters of `text` outside GSM-7 (they force UCS-2), in order of appearance, once each."""
    seen: dict[str, None] = {}
    for ch in text:
        if septet_cost(ch) is None:
            seen.setdefault(ch, None)
    return tuple(seen)


def encode(text: str) -> bytes:
    """Text to unpacked septet values (one byte each, ESC pairs for extension characters).

    Raises ValueError naming the first character that has no GSM-7 code."""
    out = bytearray()
    for ch in text:
        code = _BASIC_CODE.get(ch)
        if code is not None:
            out.append(code)
            continue
        ext = _EXT_CODE.get(ch)
        if ext is None:
            raise ValueError(f"character {ch!r} (U+{ord(ch):04X}) is not in the GSM-7 alphabet")
        out += bytes((ESC, ext))
    return bytes(out)


def decode(septets: bytes) -> str:
    """Unpacked septet values to text; never fails.

    TS 23.038: an escape followed by a code the extension table does not define shows the basic
    character of that code; a dangling escape at the end shows nothing."""
    out: list[str] = []
    i = 0
    n = len(septets)
    while i < n:
        code = septets[i] & 0x7F
        if code == ESC:
            if i + 1 >= n:
                break
            nxt = septets[i + 1] & 0x7F
            if nxt == ESC:
                out.append(" ")  # ESC ESC: reserved for a further table; spec says show a space
            else:
                out.append(EXTENSION.get(nxt, BASIC[nxt]))
            i += 2
            continue
        out.append(BASIC[code])
        i += 1
    return "".join(out)


def pack(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack 7-bit values LSB first, after `fill_bits` zero bits (used to align after a UDH)."""
    acc = 0
    nbits = fill_bits
    out = bytearray()
    for value in septets:
        acc |= (value & 0x7F) << nbits
        nbits += 7
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if nbits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack(data: bytes, count: int) -> bytes:
    """The first `count` septets packed in `data`; raises ValueError when `data` is too short.

    Unlike python-gsmmodem's unpacker this honours `count` exactly, so a trailing '@' (value 0)
    survives and padding bits never become a character."""
    needed = (count * 7 + 7) // 8
    if len(data) < needed:
        raise ValueError(f"{count} septets need {needed} octets, only {len(data)} present")
    out = bytearray(count)
    for i in range(count):
        bit = i * 7
        byte, shift = divmod(bit, 8)
        value = data[byte] >> shift
        if shift > 1:
            value |= data[byte + 1] << (8 - shift)
        out[i] = value & 0x7F
    return bytes(out)

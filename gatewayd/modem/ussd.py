"""USSD (3GPP TS 22.090 / 27.007 +CUSD), sans I/O: which codes we send, and reading the answer.

The use on a gateway is a prepaid SIM's balance or its remaining SMS bundle (*100#, #123#…):
one request, one answer. Menus ("more input needed") are closed after the first answer.

Answers come in three shapes depending on the firmware and on AT+CSCS: plain text (most modems,
character set GSM/IRA), hexadecimal UCS-2 when the DCS says so, and 7-bit GSM packed into
hexadecimal (several Huawei firmwares, whatever the character set). See firmware-notes/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gatewayd.modem import gsm7
from gatewayd.modem.replies import ReplyError, args_of, split_fields, unquote

# A service code as dialled: starts with * or #, digits, * and # (e.g. *100#, #123#, *144*1#).
_CODE = re.compile(r"[*#][0-9*#]{1,29}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")

# +CUSD <m>: what the network says about the session after this answer.
STATUSES = {0: "done", 1: "more_input", 2: "ended_by_network", 3: "answered_elsewhere", 4: "not_supported",
            5: "network_timeout"}


@dataclass(frozen=True)
class UssdAnswer:
    status: str          # a value of STATUSES
    text: str | None     # None when the network sent no text (not supported, timeout…)
    dcs: int | None


def check_code(code: str) -> str:
    """The code without spaces, or ValueError saying what a USSD code looks like."""
    cleaned = "".join(code.split())
    if not _CODE.fullmatch(cleaned):
        raise ValueError(f"{code[:40]!r} is not a USSD code: it starts with * or # and holds only digits, * and #"
                         " (for example *100# or #123#)")
    return cleaned


def request_command(code: str) -> str:
    """AT+CUSD to send `code` (checked), asking for the answer as a URC; DCS 15: GSM 7-bit."""
    return f'AT+CUSD=1,"{check_code(code)}",15'


def _is_ucs2(dcs: int) -> bool:
    # TS 23.038 §5 (cell broadcast DCS): 0x48 "UCS2, language unspecified"; general group 01xx
    # with character set bits 10.
    return dcs == 0x48 or (dcs & 0xC0 == 0x40 and dcs & 0x0C == 0x08) or dcs == 0x11


def decode_text(raw: str, dcs: int | None) -> str:
    """The answer's text, from whichever of the three shapes the modem used."""
    if dcs is not None and _is_ucs2(dcs) and len(raw) % 4 == 0 and _HEX.fullmatch(raw):
        return bytes.fromhex(raw).decode("utf-16-be", errors="replace")
    # Packed 7-bit in hex: only long all-hex strings that are not plain digits (an answer such as
    # "1234" or "0A" is far likelier to be text than a packed septet or two).
    if (dcs is None or dcs & 0xF0 in (0x00, 0x10, 0x30) or (dcs & 0xC0 == 0x40 and dcs & 0x0C == 0)) \
            and len(raw) >= 8 and _HEX.fullmatch(raw) and not raw.isdigit():
        data = bytes.fromhex(raw)
        count = len(data) * 8 // 7
        septets = gsm7.unpack(data, count)
        if count and len(data) % 7 == 0 and septets[-1] in (0x0D, 0x00):
            # The last septet is the 7 spare bits of the 7th octet: TS 23.038 §6.1.2.3.1 pads it
            # with CR, some firmwares with zero bits ("@").
            septets = septets[:-1]
        text = gsm7.decode(septets)
        if all(ch.isprintable() or ch in "\r\n" for ch in text):
            return text
    return raw


def parse_cusd(line: str) -> UssdAnswer:
    """`+CUSD: <m>[,<str>[,<dcs>]]` → UssdAnswer; ReplyError when it is not that shape."""
    fields = split_fields(args_of(line, "+CUSD"))
    try:
        m = int(fields[0])
        dcs = int(fields[2]) if len(fields) > 2 and fields[2].strip() else None
    except (ValueError, IndexError):
        raise ReplyError(f"not a +CUSD answer: {line!r}") from None
    if m not in STATUSES:
        raise ReplyError(f"+CUSD status {m} is not defined: {line!r}")
    raw = unquote(fields[1]) if len(fields) > 1 else ""
    return UssdAnswer(STATUSES[m], decode_text(raw, dcs) if raw else None, dcs)

"""How a text splits into SMS segments (pure); encode_submit uses the same plan, so they agree.

Capacities (TS 23.040 user data of 140 octets): GSM-7 160 septets alone, 153 per part with an
8-bit concatenation reference (6-octet UDH), 152 with a 16-bit one (7 octets); UCS-2 70 UTF-16
code units alone, 67 / 66 per part. A part boundary never falls between an escape and its
extension character, nor between the two halves of a surrogate pair (emoji).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from gatewayd.modem import gsm7

Encoding = Literal["GSM-7", "UCS-2"]

MAX_PARTS = 255  # the concatenation IE counts parts in one octet
SINGLE = {"GSM-7": 160, "UCS-2": 70}
MULTI_8BIT_REF = {"GSM-7": 153, "UCS-2": 67}
MULTI_16BIT_REF = {"GSM-7": 152, "UCS-2": 66}


@dataclass(frozen=True)
class SegmentInfo:
    """What the API and console show about a text before it is sent."""

    encoding: Encoding
    characters: int          # Unicode code points (an emoji is one)
    units: int               # septets (GSM-7) or UTF-16 code units (UCS-2) in total
    segments: int
    per_segment: int         # capacity of one segment in units at this segment count
    remaining: int           # units still free in the last segment
    ucs2_forcing: tuple[str, ...]  # characters outside GSM-7, in order, once each


@dataclass(frozen=True)
class Plan:
    """Encoding and the text of each part, exactly as encode_submit will send them."""

    encoding: Encoding
    chunks: tuple[str, ...]
    units: tuple[int, ...]   # units used by each chunk
    per_segment: int


def _unit_cost(ch: str, encoding: Encoding) -> int:
    if encoding == "GSM-7":
        cost = gsm7.septet_cost(ch)
        assert cost is not None
        return cost
    return 2 if ord(ch) > 0xFFFF else 1


def plan(text: str, *, reference: int = 0) -> Plan:
    """Split `text` for sending with concatenation reference `reference` (16-bit IE when > 255).

    Raises ValueError when `text` needs more than 255 parts or holds a lone surrogate."""
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError(f"text holds a lone surrogate U+{ord(ch):04X} (not a character)")
    p = _split(text, reference)
    if len(p.chunks) > MAX_PARTS:
        raise ValueError(f"text needs {len(p.chunks)} parts; at most {MAX_PARTS} can be concatenated")
    return p


def _split(text: str, reference: int) -> Plan:
    encoding: Encoding = "GSM-7" if gsm7.is_gsm7(text) else "UCS-2"
    costs = [_unit_cost(ch, encoding) for ch in text]
    total = sum(costs)
    if total <= SINGLE[encoding]:
        return Plan(encoding, (text,), (total,), SINGLE[encoding])
    capacity = (MULTI_16BIT_REF if reference > 0xFF else MULTI_8BIT_REF)[encoding]
    chunks: list[str] = []
    used: list[int] = []
    start = 0
    fill = 0
    for i, cost in enumerate(costs):
        # A character never straddles two parts: move it whole to the next one.
        if fill + cost > capacity:
            chunks.append(text[start:i])
            used.append(fill)
            start, fill = i, 0
        fill += cost
    chunks.append(text[start:])
    used.append(fill)
    return Plan(encoding, tuple(chunks), tuple(used), capacity)


def count_segments(text: str, *, reference: int = 0) -> SegmentInfo:
    """Segment figures for `text`, agreeing exactly with encode_submit(…, reference=reference).

    Never raises: a text too long for 255 parts still gets its count (above 255) so the API can
    refuse it with the figure."""
    p = _split(text, reference)
    return SegmentInfo(
        encoding=p.encoding,
        characters=len(text),
        units=sum(p.units),
        segments=len(p.chunks),
        per_segment=p.per_segment,
        remaining=p.per_segment - p.units[-1],
        ucs2_forcing=gsm7.non_gsm7(text),
    )


# ---------------------------------------------------------------- fast path for bulk submits
# A campaign submits hundreds of thousands of distinct texts (one per recipient), so caching by
# text does not help and count_segments walks every character in Python. segments_of answers the
# common cases — a text that fits in one segment, or a multi-part text whose characters all cost
# one unit — with set and count operations done in C; anything else (escapes or emoji in a
# multi-part text, where a character may not straddle two parts) falls back to count_segments.
# Segments are counted as outbound sends them: with an 8-bit concatenation reference.

_GSM_BASIC = frozenset(ch for ch in gsm7.BASIC if ord(ch) != gsm7.ESC)
_GSM_EXTENSION = frozenset(gsm7.EXTENSION.values())
_GSM_ALL = _GSM_BASIC | _GSM_EXTENSION
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(text: str) -> bool:
    """True when `text` holds half of a UTF-16 surrogate pair (not a character; cannot be encoded)."""
    return _LONE_SURROGATE.search(text) is not None


def segments_of(text: str) -> tuple[int, str]:
    """(segments, 'GSM-7' | 'UCS-2') for `text`, as count_segments(text) gives them."""
    chars = set(text)
    n = len(text)
    if chars <= _GSM_ALL:
        extension = chars & _GSM_EXTENSION
        units = n + sum(text.count(ch) for ch in extension) if extension else n
        if units <= SINGLE["GSM-7"]:
            return 1, "GSM-7"
        if not extension:  # every character costs one septet: parts fill exactly
            return -(-units // MULTI_8BIT_REF["GSM-7"]), "GSM-7"
    else:
        astral = [ch for ch in chars if ord(ch) > 0xFFFF]
        units = n + sum(text.count(ch) for ch in astral) if astral else n
        if units <= SINGLE["UCS-2"]:
            return 1, "UCS-2"
        if not astral:  # every character is one UTF-16 unit: parts fill exactly
            return -(-units // MULTI_8BIT_REF["UCS-2"]), "UCS-2"
    info = count_segments(text)
    return info.segments, info.encoding

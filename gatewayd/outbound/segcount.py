"""Segments and encoding of many texts, fast (pure); always equal to modem.segments.count_segments.

A campaign submits hundreds of thousands of distinct texts (one per recipient), so caching by
text does not help; count_segments walks every character in Python. Here the common cases — a
text that fits in one segment, or a multi-part text whose characters all cost one unit — are
answered with set and count operations done in C, and anything else (escapes or emoji in a
multi-part text, where a character may not straddle two parts) falls back to count_segments.
Segments are counted as outbound sends them: with an 8-bit concatenation reference.
"""

from __future__ import annotations

import re

from gatewayd.modem import gsm7
from gatewayd.modem.segments import MULTI_8BIT_REF, SINGLE, count_segments

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

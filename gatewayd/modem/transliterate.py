"""GSM-7 look-alikes for characters outside the GSM 03.38 alphabet (pure, no I/O).

A French text with one 'ô' or one typographic apostrophe is sent in UCS-2: 70 characters per SMS
instead of 160, so it often costs twice as many SMS. `transliterate(text)` replaces such
characters by their nearest GSM-7 equivalent (ë→e, ô→o, ç→c, œ→oe, ’→', «»→", –—→-, non-breaking
spaces → space…) and says what it changed. Characters it cannot map (emoji, other scripts) are
left alone; when any remains, the text has to go in UCS-2 anyway, so it is returned unchanged
(the recipient then reads the accents as typed). Letters that GSM-7 has (é è à ù É Ä ñ…) are never
touched.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from gatewayd.modem import gsm7

# What decomposition (NFKD) does not give: ligatures, punctuation, spaces, symbols.
_TABLE: dict[str, str] = {
    "œ": "oe", "Œ": "OE", "ß": "ß", "ð": "d", "Ð": "D", "þ": "th", "Þ": "TH", "ł": "l", "Ł": "L", "đ": "d",
    "Đ": "D", "ı": "i", "ŀ": "l", "Ŀ": "L",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'", "´": "'", "`": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-", "−": "-", "•": "-", "·": ".",
    "…": "...", "\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2007": " ", "\u2002": " ", "\u2003": " ",
    "\u200b": "", "\u2060": "", "\ufeff": "", "\t": " ",
    "×": "x", "÷": "/", "°": "o", "©": "(c)", "®": "(R)", "™": "TM", "‰": "o/oo", "½": "1/2", "¼": "1/4",
    "¾": "3/4", "¢": "c", "₤": "£",
}


@dataclass(frozen=True)
class Transliterated:
    """The text to send and what was replaced: ((original, replacement, count), …) in order of
    first appearance; `kept`: characters with no GSM-7 look-alike (the text then stayed as it was)."""

    text: str
    replaced: tuple[tuple[str, str, int], ...] = ()
    kept: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.replaced)


@lru_cache(maxsize=4096)
def lookalike(ch: str) -> str | None:
    """The GSM-7 text standing for `ch`, or None when there is none (emoji, CJK…)."""
    if gsm7.is_gsm7(ch):
        return ch
    mapped = _TABLE.get(ch)
    if mapped is not None:
        return mapped if gsm7.is_gsm7(mapped) else None
    if ch == "ç":
        return "c"
    decomposed = unicodedata.normalize("NFKD", ch)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if base and base != ch and gsm7.is_gsm7(base):
        return base
    category = unicodedata.category(ch)
    if category == "Zs":
        return " "
    if category == "Pd":
        return "-"
    return None


def transliterate(text: str) -> Transliterated:
    """`text` with GSM-7 look-alikes, or `text` unchanged when it is GSM-7 already or some
    character has no look-alike (see the module docstring)."""
    if gsm7.is_gsm7(text):
        return Transliterated(text)
    counts: Counter[str] = Counter()
    kept: dict[str, None] = {}
    out: list[str] = []
    for ch in text:
        mapped = lookalike(ch)
        if mapped is None:
            kept.setdefault(ch)
            out.append(ch)
        else:
            if mapped != ch:
                counts[ch] += 1
            out.append(mapped)
    if kept:
        return Transliterated(text, (), tuple(kept))
    replaced = tuple((ch, lookalike(ch) or ch, n) for ch, n in counts.items())
    return Transliterated("".join(out), replaced)

"""Pure STOP/START detection: does an inbound text essentially consist of a keyword?

People write "STOP", "Stop.", "stop sms", "ARRÊT svp", "STOP!!!" or " stop ". Case, accents,
punctuation, emoji and surrounding whitespace are ignored, and a few courtesy words around the
keyword ("svp", "merci", "please"…) are tolerated. Anything more is an ordinary message: "Don't
stop, I'll be late" contains the word but is not an opt-out. Deciding wrongly either way is costly
(a lost subscriber or a CNIL complaint), so the rule is deliberately strict and table-tested.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from gatewayd.problems import CodedValueError

DEFAULT_STOP_WORDS: tuple[str, ...] = (
    "STOP", "STOP SMS", "STOP ALL", "STOPALL", "ARRET", "ARRÊT", "DESABONNER", "DÉSABONNEMENT",
    "DESINSCRIPTION", "UNSUBSCRIBE", "END", "QUIT", "CANCEL", "OPT OUT", "REVOKE",
)
DEFAULT_START_WORDS: tuple[str, ...] = ("START", "UNSTOP", "YES", "OUI", "ABONNER")
# Courtesy words tolerated before or after a keyword; never enough on their own.
DEFAULT_IGNORE_WORDS: tuple[str, ...] = (
    "svp", "stp", "s'il vous plaît", "s'il te plaît", "merci", "merci beaucoup", "bonjour", "bonsoir",
    "please", "pls", "plz", "thanks", "thank you", "hello", "sms", "msg", "message", "messages",
    "me", "moi",
)

# Texts longer than this (after folding) are never a bare keyword; saves work on long messages.
_MAX_FOLDED = 120


class Intent(enum.Enum):
    """What a keyword message asks for."""

    STOP = "stop"
    START = "start"


def fold(text: str) -> str:
    """Lower case, accents removed, every run of non-alphanumerics turned into one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    space = True
    for ch in decomposed:
        if unicodedata.combining(ch):
            continue
        if ch.isalnum():
            out.append(ch)
            space = False
        elif not space:
            out.append(" ")
            space = True
    return "".join(out).strip().casefold()


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(fold(text).split())


@dataclass(frozen=True)
class KeywordMatcher:
    """Matches a text against keyword lists; build once from settings, then call `match`."""

    # Keywords with their spaces removed: "opt-out", "optout" and "opt out" are one keyword.
    stop: frozenset[str]
    start: frozenset[str]
    ignore: tuple[tuple[str, ...], ...]     # longest first, so "thank you" wins over "thank"

    @classmethod
    def build(cls, stop_words: Iterable[str] = DEFAULT_STOP_WORDS,
              start_words: Iterable[str] = DEFAULT_START_WORDS,
              ignore_words: Iterable[str] = DEFAULT_IGNORE_WORDS) -> KeywordMatcher:
        """Fold every keyword once; raise ValueError naming a keyword that folds to nothing or that
        is both a stop and a start word."""
        stop = _keyword_set(stop_words, "optout.stop_word_empty")
        start = _keyword_set(start_words, "optout.start_word_empty")
        both = sorted(stop & start)
        if both:
            raise CodedValueError("optout.word_both", word=both[0])
        ignore = {t for t in (_tokens(w) for w in ignore_words) if t}
        return cls(stop, start, tuple(sorted(ignore, key=len, reverse=True)))

    def core(self, text: str) -> tuple[str, ...] | None:
        """The folded words left once courtesy words and repeats are stripped (None if too long)."""
        folded = fold(text)
        if len(folded) > _MAX_FOLDED:
            return None
        words = tuple(folded.split())
        start, end = self._strip_ignored(words)
        # Stripping can eat a courtesy word that belongs to the keyword ('stop sms stop sms' loses its
        # last 'sms'): give stripped words back, nearest first, when that makes an exact repetition.
        for back in range(start + 1):
            for ahead in range(len(words) - end + 1):
                unit = _collapse_repeats(words[start - back:end + ahead])
                if len(unit) < end + ahead - start + back:
                    return unit
        return words[start:end]

    def match(self, text: str) -> Intent | None:
        """STOP if the text is essentially a stop word, START if a start word, else None."""
        core = self.core(text)
        if not core:
            return None
        squashed = "".join(core)
        if squashed in self.stop:
            return Intent.STOP
        if squashed in self.start:
            return Intent.START
        return None

    def is_keyword(self, text: str, keyword: str) -> bool:
        """Whether `text` is essentially `keyword` (auto-reply rules use the same rule as STOP)."""
        core = self.core(text)
        wanted = "".join(_tokens(keyword))
        return core is not None and bool(wanted) and "".join(core) == wanted

    def _strip_ignored(self, all_words: tuple[str, ...]) -> tuple[int, int]:
        """Bounds of `all_words` left once courtesy words are stripped from both ends."""
        start, words = 0, all_words
        changed = True
        while words and changed:
            changed = False
            for filler in self.ignore:
                n = len(filler)
                if len(words) > n and words[:n] == filler:
                    words, changed, start = words[n:], True, start + n
                if len(words) > n and words[-n:] == filler:
                    words, changed = words[:-n], True
                if changed:
                    break  # longest first again, so 'merci' never splits the 'merci beaucoup' that follows
        return start, start + len(words)


def _keyword_set(words: Iterable[str], code: str) -> frozenset[str]:
    found = set()
    for word in words:
        squashed = "".join(_tokens(word))
        if not squashed:
            raise CodedValueError(code, word=word)
        found.add(squashed)
    return frozenset(found)


def _collapse_repeats(words: tuple[str, ...]) -> tuple[str, ...]:
    """'stop stop stop' → 'stop'; also a repeated multi-word keyword ('stop sms stop sms')."""
    n = len(words)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and words == words[:size] * (n // size):
            return words[:size]
    return words

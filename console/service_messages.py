"""Services' English error messages in the console's language, through "service.*" catalog keys.

A key is either an exact message ("service.too long") or a pattern with str.format placeholders
("service.a group named {name} exists already"); the translation uses the same placeholders and
gets the values captured from the message, inserted as they are (the page's autoescaping applies).
The services, and so the JSON API, keep their English text: only the console translates.

Messages the services join from lists are taken apart here:
- "; "-joined problems (import mapping) are matched piece by piece;
- a placeholder named `parts` holds ", "-joined messages, each one localised ("needs {parts}");
- a placeholder named `message` holds a whole service message (a delivery report's meaning), localised;
- a placeholder named `state` holds a message state, shown with its "state.<value>" label, and one
  named `campaign_state` a campaign's, with its "campaign_state.<value>" label (French agrees it).
Pure: no I/O; the catalog is passed in, so tests can use their own.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

PREFIX = "service."
# Joins the translated pieces of a "; "-joined message (French puts a space before the semicolon).
JOIN_KEY = "service_join"


@dataclass(frozen=True)
class Pattern:
    """One catalog key with placeholders, compiled to an anchored regular expression."""

    key: str  # the catalog key, prefix included
    regex: re.Pattern[str]
    names: tuple[str, ...]  # placeholder name of each group, in order
    literal: int  # characters of fixed text: the more, the more specific (tried first)


def compile_pattern(key: str) -> Pattern | None:
    """The pattern of a "service.*" key, or None when the key has no placeholder (exact match only)."""
    parts: list[str] = []
    names: list[str] = []
    literal = 0
    for text, name, _, _ in string.Formatter().parse(key[len(PREFIX):]):
        parts.append(re.escape(text))
        literal += len(text)
        if name is not None:
            # Non-greedy: a value ends at the first place where the rest of the message fits.
            parts.append("(.*?)")
            names.append(name)
    if not names:
        return None
    return Pattern(key, re.compile("".join(parts), re.DOTALL), tuple(names), literal)


def compile_patterns(catalog: Mapping[str, str]) -> tuple[Pattern, ...]:
    """Every pattern key of a catalog, most specific first (then by key, so the order is stable)."""
    found = []
    for key in catalog:
        if key.startswith(PREFIX):
            try:
                pattern = compile_pattern(key)
            except ValueError:  # a lone brace: the catalog test reports it; never break a page over it
                continue
            if pattern is not None:
                found.append(pattern)
    return tuple(sorted(found, key=lambda p: (-p.literal, p.key)))


def match(catalog: Mapping[str, str], patterns: tuple[Pattern, ...], message: str) -> tuple[str, dict[str, str]] | None:
    """The catalog key that `message` fits (exact first, then patterns) and the captured values."""
    key = PREFIX + message
    if key in catalog:
        return key, {}
    for pattern in patterns:
        found = pattern.regex.fullmatch(message)
        if found:
            values: dict[str, str] = {}
            for name, value in zip(pattern.names, found.groups(), strict=True):
                values.setdefault(name, value)
            return pattern.key, values
    return None


class Localiser:
    """Translates service messages with one language's catalog (build once per language)."""

    def __init__(self, catalog: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.patterns = compile_patterns(catalog)
        # Placeholders whose captured value is translated too, by name.
        self.value_translators: dict[str, Callable[[str], str]] = {
            "parts": self._parts, "state": self._state, "campaign_state": self._campaign_state,
            "message": self._message}

    def one(self, message: str) -> str | None:
        """`message` translated when one key fits the whole of it, else None."""
        found = match(self.catalog, self.patterns, message)
        if found is None:
            return None
        key, values = found
        if not values:
            return self.catalog[key]  # an exact key: its text is verbatim, not a format string
        for name, translate in self.value_translators.items():
            if name in values:
                values[name] = translate(values[name])
        try:
            return self.catalog[key].format_map(values)
        except (KeyError, IndexError, ValueError):
            return None  # a translation whose placeholders drifted from its key: English beats a crash

    def __call__(self, message: str) -> str:
        """`message` in the catalog's language; what no key fits stays as it is."""
        if PREFIX + message in self.catalog:
            return self.catalog[PREFIX + message]
        pieces = message.split("; ")
        if len(pieces) == 1:
            return self.one(message) or message
        # Joined problems are taken apart before any pattern is tried on the whole: a pattern that
        # starts with a placeholder would otherwise swallow all of them. Each time the shortest run
        # of pieces that a key fits wins, so a piece holding "; " itself (in a key's own text, or
        # in a value) is still found whole; a piece no key fits is kept as it is.
        out: list[str] = []
        start, translated = 0, False
        while start < len(pieces):
            for end in range(start + 1, len(pieces) + 1):
                done = self.one("; ".join(pieces[start:end]))
                if done is not None:
                    out.append(done)
                    start, translated = end, True
                    break
            else:
                out.append(pieces[start])
                start += 1
        return self.catalog.get(JOIN_KEY, "; ").join(out) if translated else message

    def _parts(self, value: str) -> str:
        return ", ".join(self.one(piece) or piece for piece in value.split(", "))

    def _state(self, value: str) -> str:
        return self.catalog.get(f"state.{value}", value)

    def _message(self, value: str) -> str:
        return self(value)

    def _campaign_state(self, value: str) -> str:
        return self.catalog.get(f"campaign_state.{value}", value)

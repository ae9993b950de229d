"""The whole-audience text check before a launch (pure): which recipients' own text has a problem.

A campaign's template is fine on paper, but each recipient gets their own text: an empty
variable ("Bonjour , -20 %"), a name with a character GSM-7 lacks (the SMS switches to UCS-2 and
may double its segments), or a text over the segment cap. Every recipient is checked, not the
first few; the person launching decides: give the variables a default value, or leave those
recipients out. The texts are measured by outbound's own composer preview (the STOP mention in
the reader's language, the look-alikes): the rule is not repeated here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from gatewayd.campaigns.rendering import CampaignTexts
from gatewayd.campaigns.templates import Rendered, render
from gatewayd.modem.segments import count_segments
from gatewayd.outbound.compose import Composer, Finished

KINDS = ("empty_variable", "ucs2", "too_long")
LISTED = 200   # recipients named in the answer; the counts cover everyone


@dataclass(frozen=True)
class TextDecision:
    """What the person launching chose for the flagged recipients (kept in the campaign's audience)."""

    defaults: Mapping[str, str] = field(default_factory=dict)
    exclude: bool = False

    @classmethod
    def of(cls, audience: Mapping[str, Any]) -> TextDecision:
        data = audience.get("text_checks") or {}
        return cls({str(k): str(v) for k, v in (data.get("defaults") or {}).items()}, bool(data.get("exclude")))

    def to_json(self) -> dict[str, Any]:
        return {"defaults": dict(self.defaults), "exclude": self.exclude}


def with_defaults(values: Mapping[str, str], defaults: Mapping[str, str]) -> dict[str, str]:
    """The recipient's values with the chosen defaults where a value is missing or empty."""
    out = dict(values)
    for name, value in defaults.items():
        if value and not out.get(name):
            out[name] = value
    return out


class Checked(NamedTuple):
    """One recipient's text as it would leave, and its problems: (kind, detail) pairs."""

    rendered: Rendered
    done: Finished
    problems: tuple[tuple[str, str], ...]


class TextCheck:
    """Checks recipients of one campaign (built once per walk)."""

    def __init__(self, texts: CampaignTexts, composer: Composer, *, category: str, max_segments: int,
                 decision: TextDecision) -> None:
        self.texts = texts
        self.composer = composer
        self.category = category
        self.max_segments = max_segments
        self.decision = decision
        # The encoding of each template's own words: only a switch caused by a recipient is flagged.
        self.own_encoding = {lang: composer.preview(render(compiled, {}).text, category=category,
                                                    transliterate=texts.transliterate.get(lang)).encoding
                             for lang, compiled in texts.by_language.items()}

        self._finishers: dict[str | None, tuple[str, Callable[[str], Finished]]] = {}

    def check(self, values: Mapping[str, str], language: str | None) -> Checked:
        found = self._finishers.get(language)
        if found is None:  # once per language: the audience walk calls check() for every recipient
            template = self.texts.template_for(language)
            found = self._finishers[language] = (template, self.composer.finisher(
                category=self.category, language=language, transliterate=self.texts.transliterate.get(template),
                line=self.texts.line))
        template, finisher = found
        if self.decision.defaults:
            values = with_defaults(values, self.decision.defaults)
        rendered = render(self.texts.by_language[template], values)
        done = finisher(rendered.text)
        problems: list[tuple[str, str]] = [("empty_variable", name) for name in rendered.missing] \
            if rendered.missing else []
        if done.encoding == "UCS-2" and self.own_encoding[template] != "UCS-2":
            problems.append(("ucs2", " ".join(count_segments(done.text).ucs2_forcing)))
        if done.segments > self.max_segments:
            problems.append(("too_long", str(done.segments)))
        return Checked(rendered, done, tuple(problems))


@dataclass
class AudienceReport:
    """The check over a whole audience: counts per kind and variable, and the first recipients."""

    flagged: int = 0
    by_kind: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    variables: dict[str, int] = field(default_factory=dict)
    listed: list[dict[str, Any]] = field(default_factory=list)

    blocking_count: int = 0   # recipients with an empty variable or over the cap (UCS-2 alone only warns)

    def add(self, number: str, contact_id: int | None, problems: tuple[tuple[str, str], ...]) -> None:
        self.flagged += 1
        if any(kind != "ucs2" for kind, _ in problems):
            self.blocking_count += 1
        for kind in {k for k, _ in problems}:
            self.by_kind[kind] += 1
        for kind, detail in problems:
            if kind == "empty_variable":
                self.variables[detail] = self.variables.get(detail, 0) + 1
        if len(self.listed) < LISTED:
            self.listed.append({"number": number, "contact_id": contact_id,
                                "problems": [{"kind": k, "detail": d} for k, d in problems]})

    def as_json(self, decision: TextDecision) -> dict[str, Any]:
        return {"recipients": self.flagged, "by_kind": dict(self.by_kind), "empty_variables": dict(self.variables),
                "listed": self.listed, "decision": decision.to_json(),
                "blocking": self.blocking_count > 0 and not decision.exclude}

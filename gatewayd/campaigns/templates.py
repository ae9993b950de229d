"""Template text with {variables}: parsed once, rendered by plain substitution (pure, no evaluation).

Nothing from a template or a contact is ever evaluated: `{first_name}` is looked up in a dict of
strings and pasted in; there are no attributes, indexes, filters or format specs. `{{` and `}}`
stand for literal braces. A value that itself contains `{…}` is pasted as it is, never re-read.
`{first_name|Madame, Monsieur}` gives a default: the text after `|` stands in when the recipient
has no value (an empty value counts as none). A template may also carry defaults of its own, per
variable name: they stand in where the text gives none inline (the inline one is the more precise).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple

from gatewayd.problems import Problem

BUILTIN_VARIABLES = ("first_name", "last_name", "email", "mobile")
MAX_DEFAULT = 200
_NAME = re.compile(r"[^\W\d]\w{0,39}")


class TemplateSyntaxError(ValueError):
    """The text is not a valid template: a stable `code` (gatewayd.problems) and its `params`;
    str() is the English (position and problem)."""

    def __init__(self, code: str, **params: object) -> None:
        from gatewayd.problems import english

        super().__init__(english(code, params))
        self.code = code
        self.params = params

    def problem(self, field: str) -> Problem:
        """This error as the Problem of an InvalidInput about `field`."""
        return Problem(self.code, field, self.params)


@dataclass(frozen=True)
class CompiledTemplate:
    """Literal pieces interleaved with variable names: pieces[0], vars[0], pieces[1], …"""

    pieces: tuple[str, ...]
    names: tuple[str, ...]
    defaults: tuple[str | None, ...] = ()  # per variable occurrence: its `|default`, or None

    def default_of(self, i: int) -> str | None:
        return self.defaults[i] if i < len(self.defaults) else None

    @property
    def variables(self) -> tuple[str, ...]:
        """Distinct variable names in order of first use."""
        return tuple(dict.fromkeys(self.names))

    @cached_property
    def slots(self) -> tuple[tuple[str, str, str | None], ...]:
        """(variable, the literal piece after it, its default) per occurrence: what render() walks."""
        return tuple((name, piece, self.default_of(i))
                     for i, (name, piece) in enumerate(zip(self.names, self.pieces[1:], strict=True)))


class Rendered(NamedTuple):  # built once per recipient and check: a tuple is the cheapest immutable value
    text: str
    missing: tuple[str, ...]  # variables with no value and no default for this recipient (rendered as empty)


def compile_template(text: str, defaults: Mapping[str, str] | None = None) -> CompiledTemplate:
    """Parse `text`; TemplateSyntaxError for a lone brace or a bad variable name. `defaults` (a
    template's own, by variable name, case-insensitive) fill the occurrences with no inline default."""
    by_name = {k.lower(): v for k, v in defaults.items()} if defaults else {}
    pieces: list[str] = []
    names: list[str] = []
    found: list[str | None] = []
    buf: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if text.startswith("{{", i):
                buf.append("{")
                i += 2
                continue
            end = text.find("}", i + 1)
            if end < 0:
                raise TemplateSyntaxError("template.unclosed", position=i + 1)
            inner = text[i + 1:end]
            name, bar, default = inner.partition("|")
            name = name.strip()
            if not _NAME.fullmatch(name) or "{" in inner:
                raise TemplateSyntaxError("template.bad_name", name=inner, position=i + 1)
            pieces.append("".join(buf))
            buf = []
            names.append(name)
            found.append(default.strip() if bar else by_name.get(name.lower()))
            i = end + 1
        elif ch == "}":
            if text.startswith("}}", i):
                buf.append("}")
                i += 2
                continue
            raise TemplateSyntaxError("template.unopened", position=i + 1)
        else:
            buf.append(ch)
            i += 1
    pieces.append("".join(buf))
    return CompiledTemplate(tuple(pieces), tuple(names), tuple(found) if any(d is not None for d in found) else ())


def check_defaults(template: CompiledTemplate, defaults: Mapping[str, str]) -> list[Problem]:
    """Problems with a template's own defaults: each must name one of its variables and be one
    line of at most MAX_DEFAULT characters (it is pasted into an SMS as it is)."""
    used = {name.lower() for name in template.names}
    problems: list[Problem] = []
    for name, value in defaults.items():
        where = f"defaults.{name}"
        if name.lower() not in used:
            problems.append(Problem("template.default_unused", where,
                                    {"name": name, "variables": ", ".join(template.variables) or "none"}))
        elif len(value) > MAX_DEFAULT or any(ch in value for ch in "\r\n\x00"):
            problems.append(Problem("template.default_invalid", where, {"name": name, "max": MAX_DEFAULT}))
    return problems


def unknown_variables(template: CompiledTemplate, known: Iterable[str]) -> tuple[str, ...]:
    """Variables of the template that are neither built in nor in `known` (case-insensitive)."""
    allowed = {k.lower() for k in (*BUILTIN_VARIABLES, *known)}
    return tuple(v for v in template.variables if v.lower() not in allowed)


def render(template: CompiledTemplate, values: Mapping[str, str]) -> Rendered:
    """Substitute values (exact name, else case-insensitive); a missing or empty one renders as its
    `|default`, else as '' (and is listed in `missing`)."""
    # Called for every recipient of a campaign, several times per launch: kept to the bare loop.
    out = [template.pieces[0]]
    missing: list[str] | None = None
    lowered: dict[str, str] | None = None
    for name, piece, default in template.slots:
        value = values.get(name)
        if value is None:
            if lowered is None:
                lowered = {k.lower(): v for k, v in values.items()}
            value = lowered.get(name.lower())
        if not value:
            if default is not None:  # `{name|}`: an empty default is a deliberate choice
                out.append(default)
                out.append(piece)
                continue
            if missing is None:
                missing = []
            if name not in missing:
                missing.append(name)
            value = ""
        out.append(value if type(value) is str else str(value))
        out.append(piece)
    return Rendered("".join(out), tuple(missing) if missing else ())


def with_stop_mention(text: str, mention: str) -> str:
    """The text with the opt-out mention appended on its own line (once, never doubled)."""
    mention = mention.strip()
    if not mention or text.rstrip().endswith(mention):
        return text
    return f"{text.rstrip()}\n{mention}"

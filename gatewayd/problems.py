"""Stable problem codes and their English wording (pure).

A service refuses something by raising `ProblemError(code="optout.blocked", number=...)` (see
gatewayd.errors): the code and its parameters are the contract. The API renders the English text
below from them (and names the field); the console renders its own catalogue entry
`problem.<code>` with the same parameters, in French or English. Nothing translates English
sentences back into codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

# code -> English text (str.format with the problem's parameters). The console's catalogues hold
# `problem.<code>` for each of these, with the same placeholders (a test checks both).
ENGLISH: dict[str, str] = {
    "text.required": "must not be empty",
    "text.surrogate": "holds a lone UTF-16 surrogate (not a character)",
    "text.too_long": "needs {segments} segments ({encoding}, {units} units); at most {max} are allowed",
    "template.not_found": "template {id} does not exist",
    "template.syntax": "{reason}",
    "variable.unresolved": "variable {{{variable}}} has no value for {number}",
    "line.unknown": "no line named {line!r} (known: {known})",
    "recipients.none": "at least one recipient is needed",
    "recipients.too_many": "{count} recipients; at most {max} per request",
    "number.invalid": "{number!r} is not a valid phone number ({reason})",
    "optout.blocked": "recipient opted out (checked when queued)",
    "optout.blocked_stop": "recipient opted out (STOP)",
    "optout.blocked_send": "recipient opted out (checked before sending)",
    "send_at.too_far": "more than a year ahead",
    "category.unknown": "unknown category {category!r}",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a stable code, the field it concerns, and its parameters."""

    code: str
    field: str = ""
    params: Mapping[str, Any] = _field(default_factory=dict)

    def english(self) -> str:
        return english(self.code, self.params)


def english(code: str, params: Mapping[str, Any]) -> str:
    """The English text of `code` with `params`; the bare code (and params) when it has no wording."""
    template = ENGLISH.get(code)
    if template is None:
        return code + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    try:
        return template.format_map(dict(params))
    except (KeyError, IndexError, ValueError):
        return code

"""Stable problem codes and their English wording (pure).

A service refuses something by raising `ProblemError(code="optout.blocked", number=...)` (see
gatewayd.errors): the code and its parameters are the contract. The API renders the English text
below from them (and names the field); the console renders its own catalogue entry
`problem.<code>` with the same parameters, in French or English. Nothing translates English
sentences back into codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
    "template.unclosed": "'{{' at position {position} is never closed (write {{{{ for a brace)",
    "template.unopened": "'}}' at position {position} has no opening brace (write }}}} for a brace)",
    "template.bad_name": "{{{name}}} at position {position} is not a variable name (letters, digits, _)",
    "template.title_required": "a template needs a title",
    "template.in_use": "template {id} is used by a campaign",
    "variable.unresolved": "variable {{{variable}}} has no value for {number}",
    "line.unknown": "no line named {line!r} (known: {known})",
    "recipients.none": "at least one recipient is needed",
    "recipients.too_many": "{count} recipients; at most {max} per request",
    "number.invalid": "{number!r} is not a valid phone number ({reason})",
    "optout.blocked": "recipient opted out (checked when queued)",
    "optout.blocked_stop": "recipient opted out (STOP)",
    "optout.blocked_send": "recipient opted out (checked before sending)",
    "send_at.too_far": "more than a year ahead",
    # Why a message stopped or waits (messages.error_key): `error` in the API is this English.
    "send.expired": "time to live passed before it could be sent",
    "send.unknown": "{reason}",
    "send.failed": "{reason}",
    "send.gave_up": "gave up after {attempts} attempts: {reason}",
    "send.retry": "will retry: {reason}",
    "report.failed": "delivery report: {meaning} (TP-ST {status})",
    "report.part_failed": "delivery report: a part was not delivered",
    # Messages, threads, opt-outs, auto-replies and campaigns (the console's wording came from the
    # same sentences, so its translations carried over).
    "message.not_found": "no message {id}",
    "message.cannot_cancel": "message {id} is {state}; only queued or scheduled messages can be canceled",
    "message.cannot_resend": "message {id} is {state}; only unknown or failed messages can be resent",
    "message.already_resent": "message {id} was already resent as message {new}",
    "thread.not_found": "no thread {id}",
    "thread.not_dialable": "{number} is a sender name or short code: it cannot be answered by SMS",
    "autoreply.not_found": "no auto-reply rule {id}",
    "optout.not_opted_out": "{number} is not opted out",
    "optout.remove_admin_only": "only an administrator may opt a number back in",
    "optout.note_required": "say why this number is opted back in (kept in the history)",
    "campaign.not_found": "campaign {id} does not exist",
    "campaign.name_required": "a campaign needs a name",
    "campaign.default_template_required": "a default template is required (used for any language)",
    "campaign.languages": "languages are default, fr and en",
    "campaign.refresh_not_launched": "campaign {id} is {state}: only a launched campaign is refreshed",
    "category.choice": "marketing or transactional",
    "campaign.cannot_canceled": "campaign {id} is {state} and cannot be canceled",
    "campaign.cannot_changed": "campaign {id} is {state} and cannot be changed (only a draft can be)",
    "campaign.cannot_launched": "campaign {id} is {state} and cannot be launched",
    "campaign.cannot_paused": "campaign {id} is {state} and cannot be paused",
    "campaign.cannot_resumed": "campaign {id} is {state} and cannot be resumed",
    "campaign.cannot_scheduled": "campaign {id} is {state} and cannot be scheduled",
    "campaign.cannot_deleted": "campaign {id} is {state} and cannot be deleted (only drafts can be; cancel it instead)",
    "category.unknown": "unknown category {category!r}",
    "flash.unsupported": "no line of this gateway can send flash (class 0) SMS; send it as a normal SMS",
    "group.not_found": "no group named {name!r}",
    "group.empty": "group {name!r} has no members",
    "contact.not_found": "no contact named {name!r}",
    "contact.ambiguous": "{count} contacts are named {name!r}; name one by its number",
    "message.unsupported": "{kind} messages are not supported: this gateway sends text SMS only",
    "ttl.conflict": "give ttl or validUntil, not both",
    "valid_until.past": "validUntil {at} is already past",
    "webhook.local_target": "{host} is on this gateway or link-local; such endpoints are refused"
                            " unless [webhooks] allow_local_targets = true",
    "sim.unknown": "no SIM {sim}: this gateway has {count} line(s)",
    "campaign.text_problems": "{count} recipients have a text problem ({empty} with an empty variable: {variables};"
                              " {ucs2} switching to UCS-2; {too_long} over {max} segments; first: {first}): give the"
                              " variables a default"
                              " value or exclude them (POST /api/v1/campaigns/{id}/text-checks) before launching",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: a stable code, the field it concerns, and its parameters.

    A parameter may itself hold a problem as data (`{"code": ..., "params": ...}`, see as_data) or a
    list of them: a phone number's reason, a password's missing parts. They are worded the same way,
    in English here and from the catalogue in the console, so nothing is ever worded twice."""

    code: str
    field: str = ""
    params: Mapping[str, Any] = _field(default_factory=dict)

    def english(self) -> str:
        return english(self.code, self.params)

    def at(self, field: str) -> Problem:
        """The same problem, about `field`."""
        return Problem(self.code, field, self.params)

    def as_data(self) -> dict[str, Any]:
        """JSON-ready form, to store (an import's rejected lines) or nest in another problem's params."""
        return {"code": self.code, "params": dict(self.params)}


def coded(code: str, **params: Any) -> dict[str, Any]:
    """A problem as data (see Problem.as_data), for a parameter or a stored reason."""
    return {"code": code, "params": params}


def is_coded(value: object) -> bool:
    """Whether `value` is a problem as data (a mapping with a string "code")."""
    return isinstance(value, Mapping) and isinstance(value.get("code"), str)


class CodedValueError(ValueError):
    """A pure helper's refusal (a phone number, a file) as a stable code with parameters; str() is
    its English, so callers that only log it need nothing more."""

    def __init__(self, code: str, **params: Any) -> None:
        self.problem = Problem(code, "", params)
        super().__init__(english(code, params))


Wording = Callable[[str, Mapping[str, Any]], str]


def worded(value: object, word: Wording) -> str:
    """A stored reason as text: a problem as data worded by `word`, anything older (English text
    stored before reasons had codes) as it is."""
    if is_coded(value):
        assert isinstance(value, Mapping)
        return word(value["code"], value.get("params") or {})
    return "" if value is None else str(value)


def render_params(params: Mapping[str, Any], word: Wording,
                  join: str = ", ") -> dict[str, Any]:
    """`params` with every nested problem (or list of them) worded by `word(code, params)`."""
    out: dict[str, Any] = {}
    for name, value in params.items():
        if is_coded(value):
            out[name] = word(value["code"], value.get("params") or {})
        elif isinstance(value, (list, tuple)) and value and all(is_coded(v) for v in value):
            out[name] = join.join(word(v["code"], v.get("params") or {}) for v in value)
        else:
            out[name] = value
    return out


def english(code: str, params: Mapping[str, Any]) -> str:
    """The English text of `code` with `params`; the bare code (and params) when it has no wording."""
    template = ENGLISH.get(code)
    if template is None:
        return code + (" " + ", ".join(f"{k}={v}" for k, v in params.items()) if params else "")
    try:
        return template.format_map(render_params(params, english))
    except (KeyError, IndexError, ValueError):
        return code

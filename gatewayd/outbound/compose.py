"""Composition: the one step between "someone wants to send this" and the send ledger.

Every entry point — console New SMS, thread reply, resend, campaign runner, API (single and
bulk), auto-replies, STOP/START confirmations, missed-call SMS, and any adapter added later —
describes what it wants as a `Draft` and hands it to the outbound service:

    draft = Draft(recipients=("+33612345678",), text="Bonjour {first_name|Madame, Monsieur}",
                  category=Category.MARKETING, variables={"code": "42"}, source="api",
                  created_by="api key shop", transliterate=None)       # None: the site default
    composed = await outbound.compose(draft)      # no write: the texts as they would leave, or
                                                  # ProblemError listing every problem (codes)
    rows = await outbound.submit_draft(draft)     # compose, then commit (or `conn=` inside a
                                                  # caller's write transaction)

The entry point parses its input into a Draft and renders what comes back (rows, or the
problems' codes); it applies no rule itself. The rules applied here, once for everyone:
- personalisation (on when the draft has `variables` or a template, or its recipients carry
  values): `{name}` is filled from the draft's variables, then the recipient's values (a campaign
  file's row), then the contact record (names, e-mail, custom fields); `{name|default}` when none
  has it; still unresolved → problem `variable.unresolved` naming the variable and the recipient.
  Without personalisation the text is literal (`Code {ABC}` stays as it is);
- GSM-7 transliteration (the draft's option, else `[sending] transliterate`);
- the STOP mention on every marketing SMS, in the recipient's language (contact fr/en, else the
  site's), counted in the segments;
- the segment cap (`[sending] max_segments`) and the line (one of the pool's lines, which cannot
  send flash/class 0 SMS: a draft asking for one is refused);
- the line choice: the line the draft names, else its template's; without either, a soft pin
  (dropped by the dispatcher if that line goes down) to the line the correspondent last exchanged
  with ("sticky": replies land in one conversation), else to the author's default line, when that
  line is ready and the pool has another; otherwise any line. The STOP mention names the number
  of the line it is sent through (its SIM's, or the one an admin set), else `[campaigns] stop_number`.
Opt-outs are applied when the messages are inserted (and again before sending), quiet hours,
per-line caps and line choice by the dispatcher: every message goes through both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple, Protocol

import aiosqlite

from gatewayd.campaigns.templates import (
    CompiledTemplate, TemplateSyntaxError, compile_template, render, with_stop_mention,
)
from gatewayd.config import Settings
from gatewayd.errors import InvalidInput
from gatewayd.modem.segments import count_segments, has_lone_surrogate, segments_of
from gatewayd.modem.transliterate import transliterate as gsm7_lookalikes
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.problems import Problem
from gatewayd.store import contacts as contact_store
from gatewayd.store import messages as message_store
from gatewayd.store import templates as template_store
from gatewayd.store import users as user_store

MAX_PROBLEMS = 20
LANGUAGES = ("fr", "en")


class LineDirectory(Protocol):
    """The pool's view of the lines (gatewayd.modem.pool.ModemPool): configured and simulated alike."""

    def names(self) -> list[str]: ...


class Recipient(NamedTuple):
    """One recipient: E.164 number, plus what a campaign already knows about them.

    `values`: this recipient's own values (a campaign file's row, or contact fields the caller
    already joined); `language`: 'fr'/'en' when known; `lookup`: read the contact record."""

    number: str
    values: Mapping[str, str] | None = None
    language: str | None = None
    lookup: bool = True


@dataclass(frozen=True)
class Draft:
    """What an entry point wants sent, before any rule is applied (see the module docstring)."""

    recipients: Sequence[str | Recipient]
    text: str = ""
    template_id: int | None = None
    based_on: int | None = None        # the template an edited text came from (console): its line applies
    category: Category = Category.TRANSACTIONAL
    line: str | None = None
    send_at: datetime | None = None
    ttl: timedelta | None = None
    variables: Mapping[str, str] | None = None
    defaults: Mapping[str, str] | None = None  # a template's own defaults (the template's when template_id)
    personalise: bool = False          # on anyway with variables, a template or recipient values
    transliterate: bool | None = None  # None: the site default ([sending] transliterate)
    source: str = "api"
    priority: int = 0
    flash: bool = False                # class 0 ("flash") SMS: refused, no line can send one
    created_by: str | None = None
    client_ref: str | None = None      # the client's own reference, echoed in every webhook event
    api_key_id: int | None = None
    user_id: int | None = None         # the console user writing: their default line applies
    thread_id: int | None = None
    campaign_id: int | None = None
    campaign_recipient_ids: Sequence[int] | None = None  # parallel to recipients (campaign runner)
    # The entry point's names for the draft's fields ({"line": "modem"} for the API).
    field_names: Mapping[str, str] = field(default_factory=dict)

    def name_of(self, field_name: str) -> str:
        """The entry point's name for one of the draft's fields."""
        return self.field_names.get(field_name, field_name)


class Finished(NamedTuple):
    """One final text and what the rules did to it (the previews and counters show this).

    Named tuples (here and Recipient): built once per campaign recipient, several times per launch."""

    text: str
    segments: int
    encoding: str
    mention: str                                 # the STOP mention appended ('' when none)
    replaced: tuple[tuple[str, str, int], ...]   # transliteration: (original, replacement, count)
    segments_saved: int                          # SMS the transliteration saved


@dataclass(frozen=True)
class Composed:
    """The messages ready for the ledger, in recipient order, and each distinct final text."""

    messages: list[NewMessage]
    texts: dict[str, Finished]

    @property
    def segments(self) -> int:
        return sum(self.texts[m.text].segments for m in self.messages)

    def transliteration(self) -> dict[str, Any]:
        """What the GSM-7 look-alikes replaced over all the messages (each character, what became of
        it, how many times) and how many SMS that saved: the API's 202 says it."""
        per_text = Counter(m.text for m in self.messages)
        replaced: Counter[tuple[str, str]] = Counter()
        saved = 0
        for text, times in per_text.items():
            done = self.texts[text]
            saved += done.segments_saved * times
            for original, replacement, count in done.replaced:
                replaced[(original, replacement)] += count * times
        return {"replaced": [{"from": o, "to": r, "count": n} for (o, r), n in replaced.items()],
                "segments_saved": saved}


def finish(text: str, *, marketing: bool, mention: str, transliterate: bool) -> Finished:
    """Pure: the STOP mention (marketing) then the GSM-7 look-alikes, measured."""
    if marketing:
        text = with_stop_mention(text, mention)
    replaced: tuple[tuple[str, str, int], ...] = ()
    saved = 0
    if transliterate:
        done = gsm7_lookalikes(text)
        if done.changed:
            before = segments_of(text)[0]
            text, replaced = done.text, done.replaced
            saved = before - segments_of(text)[0]
    segments, encoding = segments_of(text)
    return Finished(text, segments, encoding, mention if marketing else "", replaced, saved)


def language_of(recipient_language: str | None, site_language: str) -> str:
    return recipient_language if recipient_language in LANGUAGES else site_language


class Composer:
    """Applies the rules of the module docstring to a Draft (reads contacts and templates only)."""

    def __init__(self, settings: Settings, lines: LineDirectory) -> None:
        self.settings = settings
        self.lines = lines
        # Set by the app: the lines that can send now, and a line's own number (None: the site's).
        self.ready_lines: Callable[[], Sequence[str]] = lambda: ()
        self.line_number: Callable[[str], str | None] = lambda line: None

    def use_settings(self, settings: Settings) -> None:
        self.settings = settings

    def mention(self, language: str, line: str | None = None) -> str:
        """The STOP mention for a reader of `language`, naming the number of `line` when it has one."""
        number = self.line_number(line) if line is not None else None
        return self.settings.campaigns.mention(language, number)

    async def soft_lines(self, conn: aiosqlite.Connection, draft: Draft,
                         numbers: Sequence[str]) -> tuple[dict[str, str], str | None]:
        """(number -> the ready line it last exchanged with, the author's ready default line) for a
        draft without a line; nothing when fewer than two lines are ready (no choice to make)."""
        ready = set(self.ready_lines())
        if len(ready) < 2:
            return {}, None
        last = await message_store.last_lines(conn, numbers)
        sticky = {number: line for number, line in last.items() if line in ready}
        default = await user_store.default_line_in(conn, draft.user_id) if draft.user_id is not None else None
        return sticky, default if default in ready else None

    def preview(self, text: str, *, category: Category | str, language: str | None = None,
                transliterate: bool | None = None, line: str | None = None) -> Finished:
        """Pure: what `text` (already personalised) becomes for a reader of `language` (sent
        through `line`, when known): the counters of New SMS, campaigns and templates show this."""
        return self.finisher(category=category, language=language, transliterate=transliterate, line=line)(text)

    def finisher(self, *, category: Category | str, language: str | None = None,
                 transliterate: bool | None = None, line: str | None = None) -> Callable[[str], Finished]:
        """preview() with its settings looked up once: checking a campaign's whole audience calls
        it once per recipient."""
        lang = language_of(language, self.settings.site.language)
        return partial(finish, marketing=Category(category) is Category.MARKETING, mention=self.mention(lang, line),
                       transliterate=self.settings.sending.transliterate if transliterate is None else transliterate)

    def check_line(self, line: str | None, field_name: str = "line") -> None:
        if line is None:
            return
        known = self.lines.names()
        if line not in known:
            raise InvalidInput(field_name, code="line.unknown", line=line, known=", ".join(known) or "none")

    async def compose(self, conn: aiosqlite.Connection, draft: Draft) -> Composed:
        """The draft's messages, or InvalidInput carrying every problem found (up to MAX_PROBLEMS)."""
        problems: list[Problem] = []
        settings = self.settings
        line = draft.line
        text = draft.text
        transliterate = draft.transliterate
        defaults = draft.defaults
        if draft.template_id is not None:
            template = await template_store.get_in(conn, draft.template_id)
            if template is None:
                raise InvalidInput(draft.name_of("template"), code="template.not_found", id=draft.template_id)
            text = template.text
            defaults = template.defaults
            line = line or template.line
            if transliterate is None:
                transliterate = template.transliterate
        elif draft.based_on is not None:
            # A text edited from a template keeps the template's line and its default values.
            origin = await template_store.get_in(conn, draft.based_on)
            if origin is not None:
                line = line or origin.line
                defaults = defaults if defaults is not None else origin.defaults
        self.check_line(line, draft.name_of("line"))
        if draft.flash:
            # The PDU encoder writes no message class: a flash SMS would arrive as a normal one.
            raise InvalidInput(draft.name_of("flash"), code="flash.unsupported")
        if not text.strip():
            raise InvalidInput(draft.name_of("text"), code="text.required")
        if has_lone_surrogate(text):
            raise InvalidInput(draft.name_of("text"), code="text.surrogate")
        recipients = [r if isinstance(r, Recipient) else Recipient(r) for r in draft.recipients]
        if not recipients:
            raise InvalidInput(draft.name_of("to"), code="recipients.none")
        personalise = (draft.personalise or draft.variables is not None or draft.template_id is not None
                       or any(r.values is not None for r in recipients))
        compiled: CompiledTemplate | None = None
        if personalise:
            try:
                compiled = compile_template(text, defaults)
            except TemplateSyntaxError as exc:
                raise InvalidInput(draft.name_of("text"), problems=[exc.problem(draft.name_of("text"))]) from None
            if not compiled.names:
                compiled = None  # nothing to fill: same as literal
        sticky, default_line = await self.soft_lines(conn, draft, [r.number for r in recipients]) \
            if line is None else ({}, None)
        wanted = [r.number for r in recipients if r.lookup]
        contacts = await contact_store.by_mobiles(conn, wanted) if wanted and (
            compiled is not None or draft.category is Category.MARKETING) else {}
        translit = settings.sending.transliterate if transliterate is None else transliterate
        marketing = draft.category is Category.MARKETING
        site = settings.site.language
        max_segments = settings.sending.max_segments
        texts: dict[str, Finished] = {}
        mentions: dict[tuple[str, str | None], str] = {}
        ids = draft.campaign_recipient_ids
        messages: list[NewMessage] = []
        for i, r in enumerate(recipients):
            contact = contacts.get(r.number)
            language = language_of(r.language or (contact.language if contact else None), site)
            body = text
            if compiled is not None:
                values: dict[str, str] = {"mobile": r.number}
                if contact is not None:
                    values.update(contact.fields)
                    values.update(first_name=contact.first_name, last_name=contact.last_name, email=contact.email)
                if r.values:
                    values.update(r.values)
                if draft.variables:
                    values.update(draft.variables)
                rendered = render(compiled, values)
                if rendered.missing:
                    if len(problems) < MAX_PROBLEMS:
                        problems += [Problem("variable.unresolved", draft.name_of("variables"),
                                             {"variable": name, "number": r.number}) for name in rendered.missing]
                    continue
                body = rendered.text
            to_line = line or sticky.get(r.number) or default_line
            key = body if not marketing else f"{body}\x00{language}\x00{to_line}"
            done = texts.get(key)
            if done is None:
                mention = mentions.get((language, to_line))
                if mention is None:
                    mention = mentions[language, to_line] = self.mention(language, to_line)
                done = finish(body, marketing=marketing, mention=mention, transliterate=translit)
                texts[key] = done
                if done.segments > max_segments and len(problems) < MAX_PROBLEMS:
                    info = count_segments(done.text)
                    problems.append(Problem("text.too_long", draft.name_of("text"),
                                            {"segments": info.segments, "encoding": info.encoding,
                                             "units": info.units, "max": max_segments}))
            messages.append(NewMessage(
                to=r.number, text=done.text, category=draft.category, send_at=draft.send_at, line=to_line,
                ttl=draft.ttl, priority=draft.priority, campaign_id=draft.campaign_id,
                campaign_recipient_id=ids[i] if ids is not None else None, thread_id=draft.thread_id,
                source=draft.source, api_key_id=draft.api_key_id, created_by=draft.created_by,
                client_ref=draft.client_ref, line_soft=line is None and to_line is not None))
        if problems:
            raise InvalidInput(problems=problems[:MAX_PROBLEMS])
        return Composed(messages, {f.text: f for f in texts.values()})

"""Automatic answers: keyword rules (INFO, HORAIRES), STOP/START confirmations, missed-call texts.

Every automatic SMS goes through `AutoResponder.answer`, which enforces its rules:
- only to a number that can be a mobile line, of the allowed destinations ([api]
  allowed_destinations, or the box's own country when that list is empty): anyone can text or ring
  the box, and an answer to a premium-rate, shared-cost, satellite or foreign number costs money
  or feeds a fraud;
- its own interval per kind (a STOP confirmation at most once per number per 24 h…);
- a cap over all kinds per number and window, so two machines that answer each other (another
  gateway's auto-reply, an operator robot) stop after a few messages instead of forever;
- a cap over all numbers per hour, so many numbers texting at once cannot drain the SIM.
A decision held back by a limit is recorded with its reason (auditable, and the loop is visible).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from gatewayd.clock import Clock
from gatewayd.config import InboundSettings, SendingSettings
from gatewayd.errors import Conflict, InvalidInput, NotFound, ProblemError
from gatewayd.inbound.parts import is_dialable
from gatewayd.inbound.ports import Outbound, conversation_draft
from gatewayd.inbound.stop_words import Intent, KeywordMatcher
from gatewayd.modem.segments import count_segments
from gatewayd.outbound.compose import Composer, LineDirectory
from gatewayd.phone import could_be_mobile, in_destinations, mask
from gatewayd.store import autoreplies
from gatewayd.store.autoreplies import DuplicateRule, Rule
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

MAX_KEYWORD = 40


@dataclass(frozen=True)
class Decision:
    """What happened to one automatic answer."""

    queued_message_id: int | None
    held_back: str | None


class AutoResponder:
    """Queues automatic SMS inside the caller's transaction, within the per-number limits."""

    def __init__(self, outbound: Outbound | None, settings: InboundSettings, lines: LineDirectory,
                 destinations: list[str]) -> None:
        self.outbound = outbound
        self.settings = settings
        self.lines = lines
        self.destinations = destinations  # regions or calling codes; never empty

    async def answer(self, conn: aiosqlite.Connection, *, kind: str, number: str, line: str | None, text: str,
                     now: datetime, every: timedelta | None = None, thread_id: int | None = None,
                     inbound_id: int | None = None, call_id: int | None = None,
                     rule_id: int | None = None) -> Decision:
        """Queue `text` to `number` unless a limit says no; the decision is recorded either way."""
        held = await self._limit(conn, kind=kind, number=number, now=now, every=every)
        message_id = None
        if held is None:
            if self.outbound is None:
                held = "outbound queue not available"
            else:
                # A savepoint: a refused submit must never undo the inbound message it answers.
                await conn.execute("SAVEPOINT auto_answer")
                try:
                    # Answered on the line the SMS or call came in on, while the pool has it.
                    on = line if line in self.lines.names() else None
                    rows = await self.outbound.submit_draft(
                        conversation_draft(to=number, text=text, line=on, thread_id=thread_id, source=_source(kind)),
                        conn=conn)
                    message_id = int(rows[0].id)
                    await conn.execute("RELEASE auto_answer")
                except Exception as exc:  # noqa: BLE001 — recorded and logged; the inbound commit goes on
                    await conn.execute("ROLLBACK TO auto_answer")
                    await conn.execute("RELEASE auto_answer")
                    code = exc.code if isinstance(exc, ProblemError) else None  # the stable reason, when given
                    held = f"not queued: {code}: {exc}" if code else f"not queued: {exc}"
                    log.warning("%s to %s not queued: %s", kind, mask(number), exc)
        if held is not None and not held.startswith(("already answered", "not a dialable")):
            log.warning("%s to %s held back: %s", kind, mask(number), held)
        await autoreplies.record_send(conn, number=number, kind=kind, now=now, line=line, message_id=message_id,
                                      inbound_id=inbound_id, call_id=call_id, rule_id=rule_id, held_back=held)
        return Decision(message_id, held)

    async def _limit(self, conn: aiosqlite.Connection, *, kind: str, number: str, now: datetime,
                     every: timedelta | None) -> str | None:
        if not is_dialable(number):
            return "not a dialable number"
        if not could_be_mobile(number):
            return "not a mobile number (no automatic SMS to premium-rate, shared-cost, VoIP or fixed lines)"
        if not in_destinations(number, self.destinations):
            return "destination not in this gateway's allowed countries (api.allowed_destinations)"
        if every is not None and await autoreplies.sent_since(conn, number=number, since=now - every, kinds=(kind,)):
            return f"already answered within {_span(every)}"
        window = timedelta(minutes=self.settings.autoreply_window_minutes)
        sent = await autoreplies.sent_since(conn, number=number, since=now - window)
        if sent >= self.settings.autoreply_max:
            return f"cap reached: {sent} automatic SMS to this number within {_span(window)} (loop protection)"
        everyone = await autoreplies.sent_to_anyone_since(conn, since=now - timedelta(hours=1))
        if everyone >= self.settings.autoreply_max_per_hour:
            return f"hourly cap reached: {everyone} automatic SMS within the last hour (inbound.autoreply_max_per_hour)"
        return None


def _source(kind: str) -> str:
    return {"optout-confirm": "optout-confirm", "optin-confirm": "optout-confirm"}.get(kind, "auto-reply")


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h" if minutes % 60 == 0 else f"{minutes} min"


class RuleBook:
    """Keyword → reply rules: validation, storage, and the lookup for an inbound text."""

    def __init__(self, db: Database, clock: Clock, matcher: KeywordMatcher, sending: SendingSettings,
                 lines: LineDirectory, composer: Composer) -> None:
        self.db = db
        self.clock = clock
        self.matcher = matcher
        self.sending = sending
        self.lines = lines  # the pool's view of the lines
        self.composer = composer  # outbound's: the reply is measured as it will be sent

    def key(self, keyword: str) -> str:
        """The folded keyword as stored and compared; 422 naming `keyword` when unusable."""
        text = keyword.strip()
        if not text or len(text) > MAX_KEYWORD:
            raise InvalidInput("keyword", code="autoreply.keyword_length", max=MAX_KEYWORD)
        core = self.matcher.core(text)
        if not core:
            raise InvalidInput("keyword", code="autoreply.keyword_courtesy")
        intent = self.matcher.match(text)
        if intent is not None:
            word = "STOP" if intent is Intent.STOP else "START"
            raise InvalidInput("keyword", code="autoreply.keyword_optout", keyword=text, word=word)
        return "".join(core)

    def _check(self, reply: str, line: str | None) -> None:
        if not reply.strip():
            raise InvalidInput("reply", code="text.required")
        done = self.composer.preview(reply, category="transactional")
        if done.segments > self.composer.settings.sending.max_segments:
            info = count_segments(done.text)
            raise InvalidInput("reply", code="text.too_long", segments=info.segments, encoding=info.encoding,
                               units=info.units, max=self.composer.settings.sending.max_segments)
        if line is not None and line not in self.lines.names():
            raise InvalidInput("modem", code="line.unknown", line=line, known=", ".join(self.lines.names()) or "none")

    async def create(self, *, keyword: str, reply: str, line: str | None = None, enabled: bool = True) -> Rule:
        key = self.key(keyword)
        self._check(reply, line)
        try:
            return await autoreplies.add_rule(self.db, keyword=keyword.strip(), keyword_key=key, reply=reply,
                                              line=line, enabled=enabled, now=self.clock.now())
        except DuplicateRule:
            raise _duplicate(keyword, line) from None

    async def update(self, rule_id: int, *, keyword: str, reply: str, line: str | None, enabled: bool) -> Rule:
        key = self.key(keyword)
        self._check(reply, line)
        try:
            rule = await autoreplies.update_rule(self.db, rule_id, keyword=keyword.strip(), keyword_key=key,
                                                 reply=reply, line=line, enabled=enabled, now=self.clock.now())
        except DuplicateRule:
            raise _duplicate(keyword, line) from None
        if rule is None:
            raise NotFound(code="autoreply.not_found", id=rule_id)
        return rule

    async def delete(self, rule_id: int) -> None:
        if not await autoreplies.delete_rule(self.db, rule_id):
            raise NotFound(code="autoreply.not_found", id=rule_id)

    async def get(self, rule_id: int) -> Rule:
        rule = await autoreplies.get_rule(self.db, rule_id)
        if rule is None:
            raise NotFound(code="autoreply.not_found", id=rule_id)
        return rule

    async def all(self) -> list[Rule]:
        return await autoreplies.rules(self.db)

    async def for_text(self, conn: aiosqlite.Connection, text: str, line: str) -> Rule | None:
        """The rule answering `text` received on `line`, if the text essentially is its keyword."""
        core = self.matcher.core(text)
        if not core:
            return None
        return await autoreplies.rule_for(conn, keyword_key="".join(core), line=line)


def _duplicate(keyword: str, line: str | None) -> Conflict:
    if line is None:
        return Conflict(code="autoreply.duplicate_everywhere", field="keyword", keyword=keyword.strip())
    return Conflict(code="autoreply.duplicate", field="keyword", keyword=keyword.strip(), line=line)

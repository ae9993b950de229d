"""Opt-outs and opt-ins: by SMS (inside the transaction storing the STOP) and by hand (API, console).

Each change appends to the history (store/optouts.py), blocks what is still pending to that
number (outbound's `block_pending_to`, which applies settings.optout.scope), and puts its webhook
event in the outbox — all in one transaction, so a STOP can never be stored without taking effect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiosqlite

from gatewayd.clock import Clock, utc_iso
from gatewayd.config import OptOutSettings
from gatewayd.errors import Forbidden, InvalidInput, NotFound
from gatewayd.inbound.autoreply import AutoResponder
from gatewayd.inbound.ports import Outbound, enqueue_event, enqueue_events
from gatewayd.phone import InvalidNumber, mask, normalise
from gatewayd.store import inbound, optouts
from gatewayd.store.db import Database
from gatewayd.store.inbound import InboundMessage
from gatewayd.store.optouts import OptOut, OptOutEvent

log = logging.getLogger(__name__)

MANUAL_SOURCES = ("api", "console", "import")
CHUNK = 500  # numbers per transaction in add_many


@dataclass(frozen=True)
class Change:
    """The outcome of an opt-out or opt-in request."""

    number: str
    changed: bool            # False when the number already was in that state (nothing appended)
    event_id: int | None
    blocked: int             # pending messages blocked by this opt-out


class OptOutService:
    """Records opt-outs/opt-ins with their consequences."""

    def __init__(self, db: Database, clock: Clock, settings: OptOutSettings, outbound: Outbound | None,
                 responder: AutoResponder, region: str) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.outbound = outbound
        self.responder = responder
        self.region = region

    # -- by SMS (inside handle_sms's transaction) -----------------------------------------------
    async def stop_by_sms(self, conn: aiosqlite.Connection, message: InboundMessage, now: datetime) -> Change:
        """The sender of `message` said STOP: opt out, block pending, confirm (at most once a day)."""
        change = await self._out(conn, message.sender, source="sms", now=now, line=message.line,
                                 inbound_id=message.id)
        await inbound.set_intent(conn, message.id, "stop")
        if change.changed and self.settings.confirm_text:
            await self.responder.answer(conn, kind="optout-confirm", number=message.sender, line=message.line,
                                        text=self.settings.confirm_text, now=now, every=self._every(),
                                        thread_id=message.thread_id, inbound_id=message.id)
        log.info("%s: STOP from %s (message %d): %s, %d pending blocked", message.line, mask(message.sender),
                 message.id, "opted out" if change.changed else "already opted out", change.blocked)
        return change

    async def start_by_sms(self, conn: aiosqlite.Connection, message: InboundMessage, now: datetime) -> Change:
        """The (opted-out) sender of `message` said START: opt back in, confirm if configured."""
        change = await self._in(conn, message.sender, source="sms", now=now, line=message.line,
                                inbound_id=message.id)
        await inbound.set_intent(conn, message.id, "start")
        if change.changed and self.settings.resubscribe_text:
            await self.responder.answer(conn, kind="optin-confirm", number=message.sender, line=message.line,
                                        text=self.settings.resubscribe_text, now=now, every=self._every(),
                                        thread_id=message.thread_id, inbound_id=message.id)
        log.info("%s: START from %s (message %d): opted back in", message.line, mask(message.sender), message.id)
        return change

    # -- by hand --------------------------------------------------------------------------------
    async def add(self, raw_number: str, *, source: str, actor: str | None, note: str | None = None) -> Change:
        """Opt a number out by hand (idempotent: an opted-out number gets no second event)."""
        number = self._number(raw_number)
        async with self.db.write() as conn:
            return await self._out(conn, number, source=self._source(source), now=self.clock.now(),
                                   actor=actor, note=note)

    async def add_many(self, numbers: Sequence[str], *, source: str, actor: str | None,
                       note: str | None = None) -> tuple[int, int]:
        """Opt out many E.164 numbers by hand (a list from a previous provider): (added, already
        opted out). Each number gets what add() gives it (history, webhook, pending blocked), in
        transactions of CHUNK numbers so sending and the API are not held up meanwhile."""
        source = self._source(source)
        added = 0
        for start in range(0, len(numbers), CHUNK):
            chunk = list(dict.fromkeys(numbers[start:start + CHUNK]))
            async with self.db.write() as conn:
                now = self.clock.now()
                opted = await optouts.opted_out_among(conn, chunk)
                fresh = [n for n in chunk if n not in opted]
                await optouts.record_many(conn, fresh, action="out", source=source, now=now, actor=actor, note=note)
                await enqueue_events(conn, [("optout.created", _payload(n, source, None, None, actor, now))
                                            for n in fresh], now)
                if self.outbound is not None:  # already opted out too: something may be queued since
                    await self.outbound.block_pending_to(conn, chunk)
                added += len(fresh)
        log.info("%d numbers opted out by %s (%d were already)", added, actor, len(numbers) - added)
        return added, len(numbers) - added

    async def remove(self, raw_number: str, *, source: str, actor: str | None, note: str | None,
                     admin: bool) -> Change:
        """Opt a number back in by hand; NotFound when it is not opted out.

        The rule for every caller (API, console): only an administrator may re-subscribe someone
        who said STOP, and only with a reason, which the history keeps."""
        if not admin:
            raise Forbidden(code="optout.remove_admin_only")
        note = (note or "").strip()
        if not note:
            raise InvalidInput(code="optout.note_required", field="note")
        number = self._number(raw_number)
        async with self.db.write() as conn:
            if not await optouts.is_opted_out(conn, number):
                raise NotFound(code="optout.not_opted_out", field="number", number=number)
            return await self._in(conn, number, source=self._source(source), now=self.clock.now(),
                                  actor=actor, note=note)

    async def current(self, *, limit: int = 100, after_number: str | None = None) -> list[OptOut]:
        return await optouts.current(self.db, limit=limit, after_number=after_number)

    async def history(self, *, number: str | None = None, limit: int = 100,
                      before_id: int | None = None) -> list[OptOutEvent]:
        return await optouts.history(self.db, number=self._number(number) if number else None, limit=limit,
                                     before_id=before_id)

    # -- shared ---------------------------------------------------------------------------------
    async def _out(self, conn: aiosqlite.Connection, number: str, *, source: str, now: datetime,
                   line: str | None = None, inbound_id: int | None = None, actor: str | None = None,
                   note: str | None = None) -> Change:
        event_id = None
        if not await optouts.is_opted_out(conn, number):
            event_id = await optouts.record(conn, number=number, action="out", source=source, now=now, line=line,
                                            inbound_id=inbound_id, actor=actor, note=note)
            await enqueue_event(conn, "optout.created", _payload(number, source, line, inbound_id, actor, now), now)
        # Even when already opted out: something may have been queued since (e.g. a transactional
        # message with scope "all"); blocking is idempotent.
        blocked = await self.outbound.block_pending_to(conn, [number]) if self.outbound is not None else 0
        if self.outbound is None:
            log.warning("outbound queue not available: pending messages to %s not blocked now "
                        "(the dispatcher still checks before sending)", mask(number))
        return Change(number, event_id is not None, event_id, blocked)

    async def _in(self, conn: aiosqlite.Connection, number: str, *, source: str, now: datetime,
                  line: str | None = None, inbound_id: int | None = None, actor: str | None = None,
                  note: str | None = None) -> Change:
        if not await optouts.is_opted_out(conn, number):
            return Change(number, False, None, 0)
        event_id = await optouts.record(conn, number=number, action="in", source=source, now=now, line=line,
                                        inbound_id=inbound_id, actor=actor, note=note)
        await enqueue_event(conn, "optout.removed", _payload(number, source, line, inbound_id, actor, now), now)
        return Change(number, True, event_id, 0)

    def _number(self, raw: str) -> str:
        try:
            return normalise(raw, self.region)
        except InvalidNumber as exc:
            raise InvalidInput(problems=[exc.problem.at("number")]) from None

    def _every(self) -> timedelta:
        return timedelta(hours=self.settings.confirm_every_hours)

    @staticmethod
    def _source(source: str) -> str:
        if source not in MANUAL_SOURCES:
            raise ValueError(f"manual opt-out source must be one of {MANUAL_SOURCES}, not {source!r}")
        return source


def _payload(number: str, source: str, line: str | None, inbound_id: int | None, actor: str | None,
             now: datetime) -> dict[str, object]:
    return {"number": number, "source": source, "modem": line, "inbound_id": inbound_id, "actor": actor,
            "created_at": utc_iso(now)}

"""InboundService: what happens when someone writes to the box, and replying from a thread.

`handle_sms` is the modem router's `incoming_sms`. It returns only once the part — and whatever
it caused — is committed, because the driver deletes the SMS from the modem right after:
storing the message, its thread, a STOP/START with its consequences, an auto-reply and the
webhook events are ONE write transaction. If that transaction fails the SMS stays on the modem
and the next sweep hands it over again (the duplicate key makes the retry harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.errors import InvalidInput, NotFound, ServiceUnavailable
from gatewayd.inbound import timeline
from gatewayd.inbound.autoreply import AutoResponder, RuleBook
from gatewayd.inbound.out_of_hours import OfficeHours
from gatewayd.inbound.calls import CallLog
from gatewayd.inbound.optouts import OptOutService
from gatewayd.inbound.parts import is_dialable, normalise_sender
from gatewayd.inbound.ports import Outbound, conversation_draft, enqueue_event
from gatewayd.inbound.receive import Received, flush_stale, receive_part, release_slot
from gatewayd.inbound.shapes import message_json
from gatewayd.inbound.stop_words import Intent, KeywordMatcher
from gatewayd.modem.events import CallEvent, IncomingSms
from gatewayd.outbound.compose import Composer, LineDirectory
from gatewayd.phone import mask
from gatewayd.store import autoreplies, inbound, optouts, threads
from gatewayd.store.db import Database
from gatewayd.store.inbound import InboundMessage
from gatewayd.store.threads import Thread

log = logging.getLogger(__name__)


class InboundService:
    """Inbound SMS, threads, opt-outs by SMS, auto-replies and the call log."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, outbound: Outbound | None, *,
                 lines: LineDirectory | None = None, composer: Composer | None = None,
                 flush_interval: float | None = None) -> None:
        """`lines`: the pool's view of the lines (default: the configured ones, for tests without a pool);
        `composer`: outbound's composition (measures auto-reply texts as they will be sent)."""
        from gatewayd.modem.pool import FixedLines

        self.db = db
        self.settings = settings
        self.clock = clock
        self.outbound = outbound
        region = settings.sending.default_region
        self.region = region
        self.matcher = KeywordMatcher.build(settings.optout.stop_words, settings.optout.start_words,
                                            settings.optout.ignore_words)
        self.lines: LineDirectory = lines if lines is not None else FixedLines.configured(settings)
        # Automatic SMS: the API's allowed destinations, or only the box's own country.
        self.responder = AutoResponder(outbound, settings.inbound, self.lines,
                                       settings.api.allowed_destinations or [region])
        self.optouts = OptOutService(db, clock, settings.optout, outbound, self.responder, region)
        self.rules = RuleBook(db, clock, self.matcher, settings.sending, self.lines,
                              composer if composer is not None else Composer(settings, self.lines))
        self.calls = CallLog(db, clock, settings.inbound, self.responder, region)
        self.timeout = timedelta(minutes=settings.inbound.reassembly_timeout_minutes)
        self.flush_interval = flush_interval or min(60.0, self.timeout.total_seconds() / 4)
        self._task: asyncio.Task[None] | None = None
        self._office: OfficeHours | None = None
        # The box's own number (what marketing tells people to answer): never answered automatically.
        self._own_numbers = {n for n in (settings.campaigns.stop_number,) if n.startswith("+")}

    def use_settings(self, settings: Settings) -> None:
        """STOP/START keywords or their replies changed in the console: the next SMS is read with them."""
        self.settings = settings
        self.matcher = self.rules.matcher = KeywordMatcher.build(
            settings.optout.stop_words, settings.optout.start_words, settings.optout.ignore_words)
        self.optouts.settings = settings.optout

    def use_outbound(self, outbound: Outbound) -> None:
        """Attach a test's own outbound queue."""
        self.outbound = self.responder.outbound = self.optouts.outbound = outbound

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        """Keep long messages that waited too long (now, after a restart, and periodically)."""
        await self.flush_incomplete()
        self._task = asyncio.create_task(self._flush_loop(), name="inbound-reassembly")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _flush_loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            try:
                await self.flush_incomplete()
            except Exception:  # a bad pass must not end the loop; the next one retries
                log.exception("flushing incomplete long messages failed")

    # -- modem events -----------------------------------------------------------------------------
    async def handle_sms(self, sms: IncomingSms) -> None:
        """Commit one received part and everything it causes (see module docstring)."""
        sender = normalise_sender(sms.sender, self.region) if sms.sender else ""
        now = self.clock.now()
        async with self.db.write() as conn:
            received = await receive_part(conn, sms, sender=sender, now=now)
            for message in received.new_messages:
                await self._react(conn, message, now)
            if received.completed is not None:
                await enqueue_event(conn, "inbound.received", message_json(received.completed), now)
        self._log(sms, sender, received)

    async def handle_deleted(self, sms: IncomingSms) -> None:
        """The part handed over as `sms` left its modem slot: the next one stored there is new."""
        sender = normalise_sender(sms.sender, self.region) if sms.sender else ""
        async with self.db.write() as conn:
            await release_slot(conn, sms, sender=sender)

    async def handle_call(self, event: CallEvent) -> None:
        await self.calls.handle_call(event)

    async def flush_incomplete(self) -> int:
        """Keep, marked incomplete, every long message still missing parts after the timeout."""
        now = self.clock.now()
        async with self.db.write() as conn:
            kept = await flush_stale(conn, older_than=now - self.timeout, now=now)
            for message in kept:
                await self._react(conn, message, now)
        return len(kept)

    async def _react(self, conn: aiosqlite.Connection, message: InboundMessage, now: datetime) -> None:
        """A new whole message: opt-out keywords first, then auto-reply rules; webhook last (with intent)."""
        if message.thread_id is not None and not message.undecodable and is_dialable(message.sender):
            intent = self.matcher.match(message.text) if not message.parts_missing else None
            if intent is Intent.STOP:
                await self.optouts.stop_by_sms(conn, message, now)
            elif intent is Intent.START and await optouts.is_opted_out(conn, message.sender):
                await self.optouts.start_by_sms(conn, message, now)
            else:
                await self._auto_reply(conn, message, now)
        final = await inbound.get_in(conn, message.id)
        await enqueue_event(conn, "inbound.received", message_json(final or message), now)

    async def _auto_reply(self, conn: aiosqlite.Connection, message: InboundMessage, now: datetime) -> None:
        rule = await self.rules.for_text(conn, message.text, message.line)
        if rule is None:
            await self._out_of_hours(conn, message, now)
            return
        await inbound.set_intent(conn, message.id, "auto-reply")
        await autoreplies.count_hit(conn, rule.id)
        await self.responder.answer(conn, kind="auto-reply", number=message.sender, line=message.line,
                                    text=rule.reply, now=now, thread_id=message.thread_id, inbound_id=message.id,
                                    rule_id=rule.id)

    async def _out_of_hours(self, conn: aiosqlite.Connection, message: InboundMessage, now: datetime) -> None:
        """Outside office hours, the [out_of_hours] text once per sender per closed period (never
        to a short code or sender name: `_react` only answers dialable numbers; never to our own
        number; within the auto-answer caps of the responder)."""
        ooh = self.settings.out_of_hours
        if not ooh.enabled or message.parts_missing:
            return
        if self._office is None:
            self._office = OfficeHours.from_settings(ooh, self.settings.quiet_hours, self.settings.site.timezone)
        since = self._office.closed_since(now)
        if since is None or message.sender in self._own_numbers:
            return
        await self.responder.answer(conn, kind="out-of-hours", number=message.sender, line=message.line,
                                    text=ooh.text, now=now, every=now - since, thread_id=message.thread_id,
                                    inbound_id=message.id)

    @staticmethod
    def _log(sms: IncomingSms, sender: str, received: Received) -> None:
        if received.duplicate:
            return
        for message in received.new_messages:
            log.info("%s: SMS %d from %s stored (%d part(s)%s)", sms.line, message.id, mask(sender),
                     message.parts_total, ", incomplete" if message.parts_missing else "")
        if received.waiting:
            log.debug("%s: part of a long SMS from %s waits for the rest", sms.line, mask(sender))

    # -- threads ----------------------------------------------------------------------------------
    async def thread(self, thread_id: int) -> Thread:
        found = await threads.get(self.db, thread_id)
        if found is None:
            raise NotFound(code="thread.not_found", id=thread_id)
        return found

    async def mark(self, thread_id: int, *, read: bool) -> Thread:
        async with self.db.write() as conn:
            if not await threads.set_read(conn, thread_id, read=read):
                raise NotFound(code="thread.not_found", id=thread_id)
        return await self.thread(thread_id)

    async def reply(self, thread_id: int, text: str, user: str | None, *, source: str = "reply") -> Any:
        """Queue `text` to the thread's number on the thread's line; the outbound MessageRow."""
        if self.outbound is None:
            raise ServiceUnavailable(code="reply.no_queue")
        if not text.strip():
            raise InvalidInput("text", code="text.required")
        now = self.clock.now()
        async with self.db.write() as conn:
            thread = await threads.get_in(conn, thread_id)
            if thread is None:
                raise NotFound(code="thread.not_found", id=thread_id)
            if not is_dialable(thread.number):
                raise InvalidInput("thread_id", code="thread.not_dialable", number=thread.number)
            # The line the conversation came in on, while the pool still has it (else any line).
            line = thread.line if thread.line in self.lines.names() else None
            rows = await self.outbound.submit_draft(
                conversation_draft(to=thread.number, text=text, line=line, thread_id=thread.id, source=source,
                                   created_by=user),
                conn=conn)
            await threads.touch_outbound(conn, thread.id, text=text, at=now)
            await threads.set_read(conn, thread.id, read=True)  # answering means it was read
        log.info("%s: reply to %s queued by %s (thread %d)", thread.line, mask(thread.number), user or "?", thread.id)
        return rows[0]

    async def conversation(self, thread_id: int, *, limit: int,
                           position: timeline.Position = timeline.START
                           ) -> tuple[list[timeline.Item], timeline.Position | None]:
        """A page of the thread's messages in both directions, newest first (404 for no thread)."""
        return await timeline.page(self.db, await self.thread(thread_id), limit=limit, position=position)

"""OutboundService: the one way into the send ledger (compose, submit, cancel, resend, read, block).

Entry points hand a `Draft` to `compose()` / `submit_draft()` / `accept_draft()` (see
gatewayd.outbound.compose for the rules that applies); the lower-level submit()/enqueue() take
messages that were composed already.

A submitted message is committed before submit() returns. Concurrent submits share one
transaction (group commit), so many API clients cost one fsync, not one each; a caller that
already holds a write transaction (campaign launch, inbound reply) passes `conn=` instead.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

import aiosqlite

from gatewayd.clock import Clock, utc_iso
from gatewayd.config import Settings
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.modem.segments import has_lone_surrogate, segments_of
from gatewayd.outbound.compose import Composed, Composer, Draft, LineDirectory
from gatewayd.outbound.groupcommit import GroupCommit
from gatewayd.outbound.waiting import Wait
from gatewayd.outbound.model import (
    OPTOUT_EXEMPT_SOURCES, SOURCES, Category, MessageDetail, MessageRow, NewMessage, Receipt, optout_applies,
)
from gatewayd.store import messages as store
from gatewayd.store import optouts
from gatewayd.problems import Problem, english
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
MAX_PARTS = 255
IDEMPOTENCY_TTL = timedelta(hours=24)
INSERT_CHUNK = 1000


_CATEGORIES: dict[object, str] = {**{c: c.value for c in Category}, **{c.value: c.value for c in Category}}


class OutboundService:
    """Submit and manage outbound messages; the dispatcher sends what this commits."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, *, lines: LineDirectory | None = None,
                 on_new_work: Callable[[], None] | None = None) -> None:
        """`lines`: the pool's view of the lines (default: the configured ones, for tools and tests
        without a pool); `on_new_work`: the dispatcher's wake-up, called after commits."""
        from gatewayd.modem.pool import FixedLines

        self.db = db
        self.settings = settings
        self.clock = clock
        self.group = GroupCommit(db)
        self.on_new_work = on_new_work
        self.lines: LineDirectory = lines if lines is not None else FixedLines.configured(settings)
        self.composer = Composer(settings, self.lines)
        # Set by the dispatcher: why a queued message has not gone out (its claim rules, read back).
        self.explain_wait: Callable[[MessageRow], Wait | None] | None = None

    def use_settings(self, settings: Settings) -> None:
        """Settings changed in the console."""
        self.settings = settings
        self.composer.use_settings(settings)

    # ------------------------------------------------------------------ compose

    async def compose(self, draft: Draft, *, conn: aiosqlite.Connection | None = None) -> Composed:
        """The draft's messages with every rule applied, nothing written; InvalidInput listing the
        problems (stable codes) otherwise."""
        if conn is not None:
            return await self.composer.compose(conn, draft)
        async with self.db.read() as reader:
            return await self.composer.compose(reader, draft)

    async def submit_draft(self, draft: Draft, *, conn: aiosqlite.Connection | None = None) -> list[MessageRow]:
        """compose() then submit(): the committed rows in recipient order."""
        composed = await self.compose(draft, conn=conn)
        return await self.submit(composed.messages, conn=conn)

    async def accept_draft(self, draft: Draft) -> Receipt:
        """compose() then accept() (ids and states only: the API's bulk path)."""
        composed = await self.compose(draft)
        return await self.accept(composed.messages)

    # ------------------------------------------------------------------ submit

    async def submit(self, messages: list[NewMessage], *, conn: aiosqlite.Connection | None = None) -> list[MessageRow]:
        """Commit `messages` (one transaction for the batch); returns their rows in order.

        Opted-out recipients are stored as `blocked`, future `send_at` as `scheduled`, the rest
        `queued`. With `conn`, runs inside the caller's write transaction."""
        if conn is not None:
            rows = await self.insert(conn, messages)
            self._notify()
            return rows
        return await self.transaction(lambda c: self.insert(c, messages))

    async def enqueue(self, messages: Sequence[NewMessage], *, conn: aiosqlite.Connection) -> range:
        """submit() inside the caller's write transaction for bulk callers (campaign launch): the ids
        of the inserted messages, in order, without building a MessageRow for each."""
        ids = await self._insert(conn, messages, None)
        self._notify()
        return ids

    async def accept(self, messages: Sequence[NewMessage]) -> Receipt:
        """submit() answering only ids and states (the API's 202): a 10,000-recipient request
        then holds no 10,000 MessageRows at its memory peak.

        The messages are checked here, before queueing, so concurrent accepts can share one insert
        (GroupCommit.run_merged): a bad message fails its own caller and nobody else."""
        measured = self._measure(messages)
        receipt: Receipt = await self.group.run_merged(self._accept_merged, (messages, measured))
        self._notify()
        return receipt

    async def _accept_merged(self, conn: aiosqlite.Connection,
                             calls: list[tuple[Sequence[NewMessage], list[tuple[str, int, str]]]]) -> list[Receipt]:
        """One insert for several accept() calls; each caller's Receipt, in order."""
        if len(calls) == 1:
            messages, measured = calls[0]
        else:
            messages = [m for batch, _ in calls for m in batch]
            measured = [x for _, checked in calls for x in checked]
        states: list[str] = []
        ids = await self._insert(conn, messages, None, states, measured)
        receipts: list[Receipt] = []
        at = 0
        for batch, _ in calls:
            end = at + len(batch)
            receipts.append(Receipt(ids[at:end], tuple(m.to for m in batch), tuple(states[at:end])))
            at = end
        return receipts

    async def receipt(self, conn: aiosqlite.Connection, messages: Sequence[NewMessage]) -> Receipt:
        """insert() inside `conn`'s write transaction, answering a Receipt instead of rows."""
        [receipt] = await self._accept_merged(conn, [(messages, self._measure(messages))])
        return receipt

    async def transaction(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `work(conn)` in a shared group-commit transaction; its result once committed."""
        result = await self.group.run(work)
        self._notify()
        return result

    def _notify(self) -> None:
        if self.on_new_work is not None:
            self.on_new_work()

    def _check(self, i: int, m: NewMessage) -> tuple[str, int, str]:
        """(category value, segments, encoding) of `m`, or InvalidInput naming messages[i]'s field."""
        text = m.text
        problem: tuple[str, str] | None = None
        if not _E164.match(m.to or ""):
            problem = "to", f"{m.to!r} is not an E.164 number (normalise it first)"
        elif not text:
            problem = "text", "must not be empty"
        elif has_lone_surrogate(text):
            problem = "text", "holds a lone UTF-16 surrogate (not a character)"
        elif m.source not in SOURCES:
            problem = "source", f"unknown source {m.source!r}"
        elif m.send_at is not None and m.send_at.tzinfo is None:
            problem = "send_at", "must carry a time zone"
        elif (category := _CATEGORIES.get(m.category)) is None:
            problem = "category", f"unknown category {m.category!r}"
        else:
            segments, encoding = segments_of(text)
            if segments <= MAX_PARTS:
                return category, segments, encoding
            problem = "text", f"needs {segments} segments; at most {MAX_PARTS}"
        raise InvalidInput(f"messages[{i}].{problem[0]}", problem[1])

    async def insert(self, conn: aiosqlite.Connection, messages: Sequence[NewMessage]) -> list[MessageRow]:
        """Insert inside `conn`'s write transaction (executemany; ids assigned here).

        Every message is checked before the first row is written, so a bad one stores nothing."""
        rows: list[MessageRow] = []
        await self._insert(conn, messages, rows)
        return rows

    def _measure(self, messages: Sequence[NewMessage]) -> list[tuple[str, int, str]]:
        """Validate and measure (no I/O): each message's (category, segments, encoding). A campaign
        hands over thousands of distinct texts, so this is a hot loop: only C-level string work
        per message (see modem.segments.segments_of)."""
        check = self._check
        return [check(i, m) for i, m in enumerate(messages)]

    async def _insert(self, conn: aiosqlite.Connection, messages: Sequence[NewMessage],
                      rows: list[MessageRow] | None, states: list[str] | None = None,
                      measured: list[tuple[str, int, str]] | None = None) -> range:
        """insert(); appends each message's row to `rows` and its state to `states` unless None;
        the ids assigned. `measured`: what _measure(messages) answered, when the caller checked first."""
        if not messages:
            return range(0)
        if measured is None:
            measured = self._measure(messages)
        now = self.clock.now()
        now_iso = utc_iso(now)
        scope_all = self.settings.optout.scope == "all"
        applies = [optout_applies(category, m.source, scope_all=scope_all)
                   for m, (category, _, _) in zip(messages, measured, strict=True)]
        watched = {m.to for m, a in zip(messages, applies, strict=True) if a}
        opted = await optouts.opted_out_among(conn, sorted(watched)) if watched else set()
        default_ttl = timedelta(hours=self.settings.outbound.default_ttl_hours)
        first_id = await store.next_id(conn)
        blocked_key = "optout.blocked"
        blocked_text = english(blocked_key, {})
        # Most messages are due now with the default TTL: their times are computed once, and the
        # others share one string per distinct time (aware datetimes are slow to hash and format).
        default_expires = now + default_ttl
        default_expires_iso = utc_iso(default_expires)
        iso_cache: dict[datetime, str] = {}

        def iso_of(when: datetime) -> str:
            text = iso_cache.get(when)
            if text is None:
                text = iso_cache[when] = utc_iso(when)
            return text

        tuples: list[tuple[object, ...]] = []
        for mid, m, (category, segments, encoding), checked in zip(
                range(first_id, first_id + len(messages)), messages, measured, applies, strict=True):
            send_at, ttl = m.send_at, m.ttl
            if send_at is None and ttl is None:
                start, expires, future = now, default_expires, False
                send_at_iso, due_iso, expires_iso = None, now_iso, default_expires_iso
            else:
                future = send_at is not None and send_at > now
                start = send_at if send_at is not None and future else now
                expires = start + (ttl if ttl is not None else default_ttl)
                send_at_iso = iso_of(send_at) if send_at is not None else None
                due_iso, expires_iso = iso_of(start), iso_of(expires)
            blocked = checked and m.to in opted
            state = "blocked" if blocked else ("scheduled" if future else "queued")
            error = blocked_text if blocked else None
            tuples.append((mid, m.to, m.text, category, state, m.priority, m.source, m.line, m.line or "",
                           segments, encoding, mid & 0xFF, send_at_iso, due_iso, expires_iso, m.campaign_id,
                           m.campaign_recipient_id, m.thread_id, m.api_key_id, None, now_iso, now_iso, error,
                           now_iso if blocked else None, m.created_by, blocked_key if blocked else None,
                           m.client_ref, 1 if m.line_soft else 0))
            if states is not None:
                states.append(state)
            if rows is not None:
                rows.append(MessageRow(  # positional, in field order (cheaper than keywords)
                    mid, m.to, m.text, category, state, m.priority, m.source, m.line, None, segments, encoding,
                    mid & 0xFF, send_at, start, expires, 0, None, error, m.campaign_id, m.campaign_recipient_id,
                    m.thread_id, m.api_key_id, None, now, now, None, None, now if blocked else None, m.created_by,
                    blocked_key if blocked else None, None, m.client_ref))
            if len(tuples) >= INSERT_CHUNK:  # bounded memory for 10,000- or 200,000-message batches
                await store.insert_messages(conn, tuples)
                tuples = []
        if tuples:
            await store.insert_messages(conn, tuples)
        return range(first_id, first_id + len(messages))

    # ------------------------------------------------------------------ idempotency

    async def idempotent_answer(self, api_key_id: int, key: str) -> store.IdempotentAnswer | None:
        """The answer stored for (key id, Idempotency-Key) within the last 24 h, if any."""
        async with self.db.read() as conn:
            return await store.idempotency_get(conn, api_key_id, key, self.clock.now() - IDEMPOTENCY_TTL)

    async def submit_once(self, messages: list[NewMessage], *, api_key_id: int, key: str, request_hash: str,
                          answer: Callable[[Receipt], str], status: int = 202,
                          also: Callable[[aiosqlite.Connection, Receipt], Awaitable[None]] | None = None,
                          ) -> tuple[store.IdempotentAnswer, bool]:
        """Submit unless this (key id, Idempotency-Key) was already answered; the answer and
        whether it is a replay. The messages and the stored answer commit together (with what
        `also` writes: an adapter's own name for the batch)."""

        async def work(conn: aiosqlite.Connection) -> tuple[store.IdempotentAnswer, bool]:
            now = self.clock.now()
            earlier = await store.idempotency_get(conn, api_key_id, key, now - IDEMPOTENCY_TTL)
            if earlier is not None:
                return earlier, True
            receipt = await self.receipt(conn, messages)
            if also is not None:
                await also(conn, receipt)
            body = answer(receipt)
            await store.idempotency_put(conn, api_key_id, key, request_hash, status, body, now)
            return store.IdempotentAnswer(request_hash, status, body), False

        return await self.transaction(work)

    async def purge_idempotency(self) -> int:
        """Forget Idempotency-Keys older than 24 h."""
        async with self.db.write() as conn:
            return await store.idempotency_purge(conn, self.clock.now() - IDEMPOTENCY_TTL)

    # ------------------------------------------------------------------ manage

    async def cancel(self, message_id: int) -> MessageRow:
        """queued/scheduled -> canceled; 404 unknown id, 409 in any other state."""

        async def work(conn: aiosqlite.Connection) -> MessageRow:
            if not await store.cancel(conn, message_id, self.clock.now()):
                row = await store.get(conn, message_id)
                if row is None:
                    raise NotFound(code="message.not_found", id=message_id)
                raise Conflict(code="message.cannot_cancel", id=message_id, state=row.state)
            row = await store.get(conn, message_id)
            assert row is not None
            return row

        return await self.group.run(work)

    async def resend(self, message_id: int, *, by: str | None = None) -> MessageRow:
        """A new message with the same recipient and text as an `unknown` or `failed` one, asked
        for by `by` ('console <user>', 'api key <name>').

        Deliberate only (a person or an API call): an `unknown` message may already have arrived."""

        async def work(conn: aiosqlite.Connection) -> MessageRow:
            old = await store.get(conn, message_id)
            if old is None:
                raise NotFound(code="message.not_found", id=message_id)
            if old.state not in ("unknown", "failed"):
                raise Conflict(code="message.cannot_resend", id=message_id, state=old.state)
            existing = await store.resend_of(conn, message_id)
            if existing is not None:
                raise Conflict(code="message.already_resent", id=message_id, new=existing)
            # The old text was composed already (mention, look-alikes): it goes through the same
            # rules again literally, which leave it as it is but still apply the segment cap and
            # the line check, and insert() the opt-out list.
            composed = await self.composer.compose(conn, Draft(
                recipients=(old.to,), text=old.text, category=Category(old.category), line=old.line,
                priority=old.priority, campaign_id=old.campaign_id,
                campaign_recipient_ids=(old.campaign_recipient_id,) if old.campaign_recipient_id else None,
                thread_id=old.thread_id, source=old.source, api_key_id=old.api_key_id, created_by=by,
                client_ref=old.client_ref, transliterate=False))
            [row] = await self.insert(conn, composed.messages)
            await store.link_resend(conn, row.id, message_id)
            fresh = await store.get(conn, row.id)
            assert fresh is not None
            return fresh

        return await self.transaction(work)

    async def complete(self, message_id: int, *, by: str | None = None) -> MessageRow:
        """Send the missing parts of an `unknown` long message, asked for by `by`: the parts on
        record as sent are not sent again, the others go out on the same line with the same
        concatenation reference, so the phone joins them to those it has (the part that was in
        flight at the crash may arrive twice; phones keep one copy of a part number).

        Deliberate only, like resend: 409 unless the message is `unknown` with some parts on record."""

        async def work(conn: aiosqlite.Connection) -> MessageRow:
            m = await store.get(conn, message_id)
            if m is None:
                raise NotFound(code="message.not_found", id=message_id)
            if m.state != "unknown":
                raise Conflict(code="message.cannot_complete", id=message_id, state=m.state)
            done = await store.sent_seqs(conn, message_id)
            if not done or m.sent_line is None:
                raise Conflict(code="message.no_part_sent", id=message_id)
            if len(done) >= m.segments:
                raise Conflict(code="message.all_parts_sent", id=message_id)
            if await store.resend_of(conn, message_id) is not None:
                raise Conflict(code="message.already_resent_whole", id=message_id)
            await store.reopen_to_complete(conn, message_id, m.sent_line, self.clock.now())
            log.info("message %d: %s asked to complete parts %s of %d on %s", message_id, by or "?",
                     sorted(set(range(1, m.segments + 1)) - done), m.segments, m.sent_line)
            fresh = await store.get(conn, message_id)
            assert fresh is not None
            return fresh

        return await self.transaction(work)

    async def block_pending_to(self, conn: aiosqlite.Connection, numbers: Sequence[str]) -> int:
        """Inside the caller's STOP transaction: pending messages to `numbers` become blocked
        (marketing only, or every category when settings.optout.scope is 'all'); a STOP
        confirmation already queued to them is left alone."""
        if isinstance(numbers, str):  # a str is a Sequence[str] too: its characters would match nothing
            raise TypeError("block_pending_to takes a list of numbers")
        ids = await store.pending_to(conn, numbers, marketing_only=self.settings.optout.scope != "all",
                                     except_sources=sorted(OPTOUT_EXEMPT_SOURCES))
        if ids:
            await store.set_final(conn, ids, "blocked", self.clock.now(), reason=Problem("optout.blocked_stop"))
        return len(ids)

    # ------------------------------------------------------------------ read

    def why_waiting(self, message: MessageRow) -> Wait | None:
        """Why a scheduled or queued message has not gone out yet (None in any other state):
        its schedule or retry time, the marketing window, its line's caps or spacing."""
        if message.state not in ("scheduled", "queued"):
            return None
        if self.explain_wait is None:   # no dispatcher (tests of the ledger alone): only its own times
            return Wait("scheduled", message.send_at or message.due_at) if message.state == "scheduled" else None
        return self.explain_wait(message)

    async def get(self, message_id: int) -> MessageDetail:
        async with self.db.read() as conn:
            row = await store.get(conn, message_id)
            if row is None:
                raise NotFound(code="message.not_found", id=message_id)
            parts = await store.parts(conn, message_id)
        return MessageDetail(row, tuple(parts))

    async def list(self, *, limit: int = 100, before_id: int | None = None, state: str | None = None,
                   to: str | None = None, campaign_id: int | None = None,
                   thread_id: int | None = None) -> list[MessageRow]:
        """Newest first; pass the last id seen as `before_id` for the next page."""
        async with self.db.read() as conn:
            return await store.list_page(conn, limit=limit, before_id=before_id, state=state, to=to,
                                         campaign_id=campaign_id, thread_id=thread_id)

    async def count_for_key_since(self, api_key_id: int, since: datetime) -> int:
        async with self.db.read() as conn:
            return await store.count_for_key_since(conn, api_key_id, since)

"""OutboundService: the one way into the send ledger (submit, cancel, resend, read, block).

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
from gatewayd.modem.segments import count_segments
from gatewayd.outbound.groupcommit import GroupCommit
from gatewayd.outbound.model import SOURCES, Category, MessageDetail, MessageRow, NewMessage
from gatewayd.store import messages as store
from gatewayd.store import optouts
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
_E164 = re.compile(r"^\+[1-9][0-9]{5,14}$")
MAX_PARTS = 255
IDEMPOTENCY_TTL = timedelta(hours=24)
INSERT_CHUNK = 1000


def _has_lone_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


class OutboundService:
    """Submit and manage outbound messages; the dispatcher sends what this commits."""

    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.group = GroupCommit(db)
        # Set by the dispatcher: called after new work may have been committed.
        self.on_new_work: Callable[[], None] | None = None
        # Set by the pool wiring: names of the lines that exist (for validating `line`).
        self.line_names: Callable[[], list[str]] = lambda: [m.name for m in settings.modems]
        self._segments: dict[str, tuple[int, str]] = {}

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

    async def transaction(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """Run `work(conn)` in a shared group-commit transaction; its result once committed."""
        result = await self.group.run(work)
        self._notify()
        return result

    def _notify(self) -> None:
        if self.on_new_work is not None:
            self.on_new_work()

    def _segments_of(self, text: str) -> tuple[int, str]:
        cached = self._segments.get(text)
        if cached is None:
            info = count_segments(text)
            cached = (info.segments, info.encoding)
            if len(self._segments) > 4096:  # campaign texts differ per recipient: keep it small
                self._segments.clear()
            self._segments[text] = cached
        return cached

    def _check(self, i: int, m: NewMessage) -> None:
        where = f"messages[{i}]"
        if not _E164.match(m.to or ""):
            raise InvalidInput(f"{where}.to", f"{m.to!r} is not an E.164 number (normalise it first)")
        if not m.text:
            raise InvalidInput(f"{where}.text", "must not be empty")
        if _has_lone_surrogate(m.text):
            raise InvalidInput(f"{where}.text", "holds a lone UTF-16 surrogate (not a character)")
        if m.source not in SOURCES:
            raise InvalidInput(f"{where}.source", f"unknown source {m.source!r}")
        if m.send_at is not None and m.send_at.tzinfo is None:
            raise InvalidInput(f"{where}.send_at", "must carry a time zone")

    async def insert(self, conn: aiosqlite.Connection, messages: Sequence[NewMessage]) -> list[MessageRow]:
        """Insert inside `conn`'s write transaction (executemany; ids assigned here)."""
        if not messages:
            return []
        now = self.clock.now()
        now_iso = utc_iso(now)
        for i, m in enumerate(messages):
            self._check(i, m)
            segments = self._segments_of(m.text)[0]
            if segments > MAX_PARTS:
                raise InvalidInput(f"messages[{i}].text", f"needs {segments} segments; at most {MAX_PARTS}")
        scope_all = self.settings.optout.scope == "all"
        check = [m.to for m in messages if scope_all or Category(m.category) is Category.MARKETING]
        opted = await optouts.opted_out_among(conn, sorted(set(check))) if check else set()
        default_ttl = timedelta(hours=self.settings.outbound.default_ttl_hours)
        first_id = await store.next_id(conn)
        tuples: list[tuple[object, ...]] = []
        rows: list[MessageRow] = []
        blocked_text = "recipient opted out (checked when queued)"
        iso_cache: dict[datetime, str] = {}

        def iso_of(when: datetime) -> str:
            text = iso_cache.get(when)
            if text is None:
                text = iso_cache[when] = utc_iso(when)  # type: ignore[assignment]
            return text  # type: ignore[return-value]

        for offset, m in enumerate(messages):
            mid = first_id + offset
            category = Category(m.category).value
            segments, encoding = self._segments_of(m.text)
            start = m.send_at if m.send_at is not None and m.send_at > now else now
            blocked = m.to in opted and (scope_all or category == "marketing")
            state = "blocked" if blocked else ("scheduled" if start > now else "queued")
            expires = start + (m.ttl if m.ttl is not None else default_ttl)
            # A batch usually shares its times: reuse one string instead of 10,000 equal ones.
            send_at_iso = iso_of(m.send_at) if m.send_at is not None else None
            due_iso = iso_of(start)
            expires_iso = iso_of(expires)
            tuples.append((mid, m.to, m.text, category, state, m.priority, m.source, m.line, m.line or "",
                           segments, encoding, mid & 0xFF, send_at_iso, due_iso, expires_iso, m.campaign_id,
                           m.campaign_recipient_id, m.thread_id, m.api_key_id, None, now_iso, now_iso,
                           blocked_text if blocked else None, now_iso if blocked else None))
            rows.append(MessageRow(
                id=mid, to=m.to, text=m.text, category=category, state=state, priority=m.priority, source=m.source,
                line=m.line, sent_line=None, segments=segments, encoding=encoding, concat_ref=mid & 0xFF,
                send_at=m.send_at, due_at=start, expires_at=expires, attempts=0, error_code=None,
                error=blocked_text if blocked else None, campaign_id=m.campaign_id,
                campaign_recipient_id=m.campaign_recipient_id, thread_id=m.thread_id, api_key_id=m.api_key_id,
                resend_of=None, created_at=now, updated_at=now, sent_at=None, delivered_at=None,
                finished_at=now if blocked else None))
            if len(tuples) >= INSERT_CHUNK:  # bounded memory for 10,000- or 200,000-message batches
                await store.insert_messages(conn, tuples)
                tuples = []
        if tuples:
            await store.insert_messages(conn, tuples)
        return rows

    # ------------------------------------------------------------------ idempotency

    async def idempotent_answer(self, api_key_id: int, key: str) -> store.IdempotentAnswer | None:
        """The answer stored for (key id, Idempotency-Key) within the last 24 h, if any."""
        async with self.db.read() as conn:
            return await store.idempotency_get(conn, api_key_id, key, self.clock.now() - IDEMPOTENCY_TTL)

    async def submit_once(self, messages: list[NewMessage], *, api_key_id: int, key: str, request_hash: str,
                          answer: Callable[[list[MessageRow]], str], status: int = 202,
                          ) -> tuple[store.IdempotentAnswer, bool]:
        """Submit unless this (key id, Idempotency-Key) was already answered; the answer and
        whether it is a replay. The messages and the stored answer commit together."""

        async def work(conn: aiosqlite.Connection) -> tuple[store.IdempotentAnswer, bool]:
            now = self.clock.now()
            earlier = await store.idempotency_get(conn, api_key_id, key, now - IDEMPOTENCY_TTL)
            if earlier is not None:
                return earlier, True
            rows = await self.insert(conn, messages)
            body = answer(rows)
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
                    raise NotFound(f"no message {message_id}")
                raise Conflict(f"message {message_id} is {row.state}; only queued or scheduled messages can be canceled")
            row = await store.get(conn, message_id)
            assert row is not None
            return row

        return await self.group.run(work)

    async def resend(self, message_id: int) -> MessageRow:
        """A new message with the same recipient and text as an `unknown` or `failed` one.

        Deliberate only (a person or an API call): an `unknown` message may already have arrived."""

        async def work(conn: aiosqlite.Connection) -> MessageRow:
            old = await store.get(conn, message_id)
            if old is None:
                raise NotFound(f"no message {message_id}")
            if old.state not in ("unknown", "failed"):
                raise Conflict(f"message {message_id} is {old.state}; only unknown or failed messages can be resent")
            existing = await store.resend_of(conn, message_id)
            if existing is not None:
                raise Conflict(f"message {message_id} was already resent as message {existing}")
            new = NewMessage(to=old.to, text=old.text, category=Category(old.category), line=old.line,
                             priority=old.priority, campaign_id=old.campaign_id,
                             campaign_recipient_id=old.campaign_recipient_id, thread_id=old.thread_id,
                             source=old.source, api_key_id=old.api_key_id)
            [row] = await self.insert(conn, [new])
            await store.link_resend(conn, row.id, message_id)
            fresh = await store.get(conn, row.id)
            assert fresh is not None
            return fresh

        return await self.transaction(work)

    async def block_pending_to(self, conn: aiosqlite.Connection, number: str) -> int:
        """Inside the caller's STOP transaction: pending messages to `number` become blocked
        (marketing only, or every category when settings.optout.scope is 'all')."""
        ids = await store.pending_to(conn, number, marketing_only=self.settings.optout.scope != "all")
        if ids:
            await store.set_final(conn, ids, "blocked", self.clock.now(), error="recipient opted out (STOP)")
        return len(ids)

    # ------------------------------------------------------------------ read

    async def get(self, message_id: int) -> MessageDetail:
        async with self.db.read() as conn:
            row = await store.get(conn, message_id)
            if row is None:
                raise NotFound(f"no message {message_id}")
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

"""What a send attempt or a status report does to the ledger (inside the dispatcher's transaction).

The TP-MR of every part the modem accepted is committed with `sent`; a transient
error requeues with backoff (only the missing parts go next time); a permanent one fails at once
with the modem's code and reason; an outcome we cannot know becomes `unknown`, never retried.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosqlite

from gatewayd.clock import utc_iso
from gatewayd.modem.errors import LineUnavailableError, OutcomeUnknownError, PermanentSendError, SendError
from gatewayd.modem.events import StatusReport
from gatewayd.outbound.model import MessageRow
from gatewayd.outbound.reports import describe_status, fold, is_delivered, is_final
from gatewayd.outbound.retry import RetryPolicy
from gatewayd.problems import Problem
from gatewayd.store import messages as store

log = logging.getLogger(__name__)

Events = list[tuple[str, dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    """A message claimed (committed `sending`) for one line; `skip` = parts already sent."""

    message: MessageRow
    line: str
    skip: frozenset[int]
    claimed_at: datetime


@dataclass(frozen=True)
class Outcome:
    """What happened on the wire: parts accepted (seq, TP-MR, when) and the error that stopped it."""

    job: Job
    sent: tuple[tuple[int, int, datetime], ...] = ()
    error: SendError | None = None
    failed_seq: int | None = None
    committed: frozenset[int] = frozenset()   # parts of `sent` already committed one by one


@dataclass
class Verdict:
    """Side effects the dispatcher applies to its in-memory line book after the commit."""

    segments_sent: int = 0
    line_trouble: str | None = None
    retry_at: datetime | None = None
    rematched: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def event_payload(m: MessageRow, state: str, now: datetime, *, line: str | None = None, error: str | None = None,
                  code: int | None = None) -> dict[str, Any]:
    """The `data` of a message.* webhook event."""
    data: dict[str, Any] = {"id": m.id, "to": m.to, "state": state, "category": m.category, "segments": m.segments,
                            "modem": line or m.sent_line, "at": utc_iso(now)}
    if error:
        data["error"] = error
    if code is not None:
        data["error_code"] = code
    for key in ("campaign_id", "thread_id", "client_ref"):
        value = getattr(m, key)
        if value is not None:
            data[key] = value
    return data


class Ledger:
    """Applies outcomes and reports; `unmatched` counts reports waiting for their part."""

    def __init__(self, retry: RetryPolicy, rng: random.Random, clock_mono: Callable[[], float]) -> None:
        self.retry = retry
        self.rng = rng
        self.unmatched = 0
        self._mono = clock_mono

    async def apply_outcome(self, conn: aiosqlite.Connection, o: Outcome, now: datetime, events: Events) -> Verdict:
        m, line, err = o.job.message, o.job.line, o.error
        v = Verdict(segments_sent=len(o.sent))
        # A part committed on its own may already have its report: never overwrite that row.
        fresh = [(m.id, seq, line, mr, at) for seq, mr, at in o.sent if seq not in o.committed]
        if fresh:
            await store.record_parts_sent(conn, fresh)
        if err is None:
            await store.mark_sent(conn, m.id, now)
            events.append(("message.sent", event_payload(m, "sent", now, line=line)))
            if o.sent:
                v.rematched = await self._rematch(conn, line, [mr for _, mr, _ in o.sent], o.job.claimed_at, now, events)
            if o.job.skip:  # earlier parts may already have their reports
                await self._settle(conn, m.id, now, events, last_status=None)
            return v
        if o.sent:
            v.rematched = await self._rematch(conn, line, [mr for _, mr, _ in o.sent], o.job.claimed_at, now, events)
        if isinstance(err, OutcomeUnknownError):
            await store.set_final(conn, [m.id], "unknown", now, code=err.code,
                                  reason=Problem("send.unknown", "", {"reason": err.reason}))
            events.append(("message.unknown", event_payload(m, "unknown", now, line=line, error=err.reason)))
        elif isinstance(err, PermanentSendError):
            if o.failed_seq is not None:
                await store.record_part_failed(conn, m.id, o.failed_seq, line, err.code, err.reason, now)
            await store.set_final(conn, [m.id], "failed", now, code=err.code,
                                  reason=Problem("send.failed", "", {"reason": err.reason}))
            events.append(("message.failed", event_payload(m, "failed", now, line=line, error=err.reason,
                                                           code=err.code)))
        else:
            await self._transient(conn, o, err, now, events, v)
        return v

    async def _transient(self, conn: aiosqlite.Connection, o: Outcome, err: SendError, now: datetime,
                         events: Events, v: Verdict) -> None:
        m, line = o.job.message, o.job.line
        # No code = the line itself misbehaved (not answering, no prompt): move the work elsewhere.
        line_trouble = isinstance(err, LineUnavailableError) or err.code is None
        if line_trouble:
            v.line_trouble = err.reason
        failures = m.attempts + (0 if isinstance(err, LineUnavailableError) else 1)
        table_limit = None if line_trouble else getattr(err, "max_retries", None)
        if failures and self.retry.give_up(failures, table_limit):
            reason = Problem("send.gave_up", "", {"attempts": failures, "reason": err.reason})
            await store.set_final(conn, [m.id], "failed", now, code=err.code, attempts=failures, reason=reason)
            events.append(("message.failed", event_payload(m, "failed", now, line=line, error=reason.english(),
                                                           code=err.code)))
            return
        delay = 0.0 if line_trouble else self.retry.delay(failures, self.rng)
        due = now + timedelta(seconds=delay)
        # Parts already out pin the message to this line: the phone joins parts from one sender only.
        pinned = bool(o.sent or o.job.skip)
        await store.requeue(conn, m.id, due_at=due, attempts=failures, line_key=line if pinned else (m.line or ""),
                            now=now, error=None, code=err.code,
                            reason=Problem("send.retry", "", {"reason": err.reason}))
        v.retry_at = due

    # ------------------------------------------------------------------ status reports

    async def apply_report(self, conn: aiosqlite.Connection, r: StatusReport, now: datetime, events: Events) -> None:
        found = await store.find_part(conn, r.line, r.reference, r.recipient)
        if found is None:
            # The report can beat the commit of its part's TP-MR: keep it until the part shows up.
            await store.keep_unmatched_report(conn, r.line, r.reference, r.recipient, r.status, r.discharge_time, now)
            self.unmatched += 1
            return
        await self._on_part(conn, found, r.status, r.discharge_time or now, now, events)

    async def _on_part(self, conn: aiosqlite.Connection, found: tuple[int, int], status: int, at: datetime,
                       now: datetime, events: Events) -> None:
        message_id, seq = found
        final = is_final(status)
        changed = await store.apply_part_report(conn, message_id, seq, status=status, final=final,
                                                delivered=is_delivered(status), at=at)
        if changed and final:
            await self._settle(conn, message_id, now, events, last_status=status)

    async def _settle(self, conn: aiosqlite.Connection, message_id: int, now: datetime, events: Events, *,
                      last_status: int | None) -> None:
        m = await store.get(conn, message_id)
        if m is None or m.state != "sent":
            return
        verdict = fold(m.segments, await store.part_states(conn, message_id))
        if verdict == "delivered":
            if await store.settle_after_report(conn, message_id, "delivered", now):
                events.append(("message.delivered", event_payload(m, "delivered", now)))
        elif verdict == "failed":
            reason = (Problem("report.failed", "", {"meaning": describe_status(last_status),
                                                    "status": f"0x{last_status:02X}"})
                      if last_status is not None else Problem("report.part_failed"))
            if await store.settle_after_report(conn, message_id, "failed", now, reason=reason):
                events.append(("message.failed", event_payload(m, "failed", now, error=reason.english())))

    async def _rematch(self, conn: aiosqlite.Connection, line: str, references: list[int], since: datetime,
                       now: datetime, events: Events) -> int:
        if self.unmatched <= 0:
            return 0
        kept = await store.take_unmatched(conn, line, references, since - timedelta(minutes=5))
        self.unmatched = max(0, self.unmatched - len(kept))
        for reference, recipient, status, discharge in kept:
            found = await store.find_part(conn, line, reference, recipient)
            if found is not None:
                await self._on_part(conn, found, status, discharge or now, now, events)
        return len(kept)

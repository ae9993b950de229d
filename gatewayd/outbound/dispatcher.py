"""Dispatcher: hands queued messages to free lines, one message per line at a time.

One loop owns every ledger change of sending. Each pass, in ONE transaction, it applies the
outcomes of finished sends and the status reports that arrived, promotes due scheduled messages,
expires what passed its TTL, and claims the next message for every free line (committed
`sending` before AT+CMGS is written). So a line's "sent k" and "sending k+1" share a commit, and
a kill -9 leaves at most one message per line in `sending` (it becomes `unknown` at start).

Work wakes the loop (submit, a finished send, a report, a line coming up); otherwise it sleeps
until the next known deadline (retry, spacing, cap window, quiet hours), at most `fallback` s.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import aiosqlite

from gatewayd.clock import RELEASE_FLOOR, Clock, ClockSanity, parse_iso
from gatewayd.config import Settings
from gatewayd.modem.errors import OutcomeUnknownError, PermanentSendError, SendError
from gatewayd.modem.events import LineStatus, StatusReport
from gatewayd.modem.pdu import PduError, SubmitPart, encode_submit
from gatewayd.outbound.lines import Caps, LineBook, LineUsage, least_loaded, rebuild, spacing
from gatewayd.outbound.model import MessageRow, optout_applies
from gatewayd.outbound.outcomes import Events, Job, Ledger, Outcome, event_payload
from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.problems import Problem
from gatewayd.outbound.retry import RetryPolicy
from gatewayd.outbound.waiting import LineView, Wait, why_waiting
from gatewayd.store import messages as store
from gatewayd.store import optouts
from gatewayd.store import webhooks as webhook_store
from gatewayd.store.db import Database
from gatewayd.store.errors import DiskFull

log = logging.getLogger(__name__)

REPORT_BATCH_S = 0.02   # a report may wait this long to share a transaction with a send's outcome


def unreported_reason(hours: float) -> Problem:
    """Why a `sent` message has no delivery report (its documented end when none ever comes)."""
    span = f"{hours:g} h" if hours >= 1 else f"{hours * 3600:g} s"
    return Problem("report.none", "", {"span": span})


class Pool(Protocol):
    """The part of gatewayd.modem.pool.ModemPool the dispatcher uses."""

    def ready_lines(self) -> list[str]: ...

    async def send_part(self, line: str, part: SubmitPart) -> int: ...

    def statuses(self) -> list[LineStatus]: ...


class Dispatcher:
    """Sends the ledger's queued messages through the pool's lines."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, pool: Pool | None, *,
                 rng: random.Random | None = None, fallback: float = 1.0, stop_grace: float = 2.0) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.pool = pool
        self.rng = rng or random.Random()
        self.fallback = fallback
        self.stop_grace = stop_grace
        self.tz = ZoneInfo(settings.site.timezone)
        self.caps = Caps.from_settings(settings.outbound)
        self.quiet = QuietHours.from_settings(settings.quiet_hours, settings.site.timezone)
        o = settings.outbound
        self.ledger = Ledger(RetryPolicy(o.retry_base_seconds, o.retry_cap_seconds, o.max_attempts), self.rng,
                             clock.monotonic)
        self.books: dict[str, LineBook] = {}
        self.on_events: Callable[[], None] | None = None   # the webhook sender's wake-up
        self.on_sent: Callable[[str, float], None] | None = None  # metrics: (line, seconds to hand parts over)
        self.passes = 0
        self._outcomes: list[Outcome] = []
        self._reports: list[tuple[StatusReport, asyncio.Future[None]]] = []
        self._jobs: dict[str, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._retry_at: datetime | None = None
        self._housekept = float("-inf")
        self._has_endpoints = False
        self._reports_since = 0.0
        self._waiting: set[str] = set()   # lines whose pinned messages carry a waiting reason
        # Until start() reads the newest recorded time, only the release floor is known.
        self.clock_sanity = ClockSanity(RELEASE_FLOOR)
        self._untrusted_logged = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Turn `sending` left by a crash into `unknown`, rebuild cap counters, start the loop."""
        now = self.clock.now()
        day_start = datetime.combine(now.astimezone(self.tz).date(), time(0), self.tz)
        async with self.db.write() as conn:
            ids = await store.sending_to_unknown(conn, now)
            if ids:
                log.warning("%d message(s) were being sent when the daemon stopped: now unknown, not resent", len(ids))
                rows = await store.get_many(conn, ids)
                await webhook_store.enqueue_events(
                    conn, [("message.unknown", event_payload(r, "unknown", now, error=r.error)) for r in rows], now)
            sent = await store.segments_sent_since(conn, day_start)
            self.ledger.unmatched = await store.count_unmatched(conn)
            self._has_endpoints = await webhook_store.any_subscriber(conn)
            self._waiting = set(await store.pinned_lines(conn))  # reasons left by the last run: refreshed
            newest = await store.newest_recorded_time(conn)
        self.clock_sanity = ClockSanity(newest or RELEASE_FLOOR)
        usage = rebuild(self._line_names(), [(ln, parse_iso(at)) for ln, at in sent], self.tz, now)
        self.books = {name: LineBook(name, u) for name, u in usage.items()}
        self._task = asyncio.create_task(self._run(), name="outbound-dispatcher")

    async def stop(self) -> None:
        """Claim nothing more; let sends in flight finish (bounded) and commit their outcome."""
        self._stopping = True
        self._wake.set()
        task = self._task
        if task is not None:
            # The loop returns by itself once no send is in flight and every outcome is committed.
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=self.stop_grace)
            except (asyncio.TimeoutError, Exception):
                pass
        for job in list(self._jobs.values()):
            job.cancel()  # still on the wire: stays `sending`, becomes `unknown` at next start
        await asyncio.gather(*self._jobs.values(), return_exceptions=True)
        if task is not None and not task.done():
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=1.0)
            except (asyncio.TimeoutError, Exception):
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._task = None
        for _, fut in self._reports:
            if not fut.done():
                fut.set_exception(RuntimeError("dispatcher stopped"))

    def use_settings(self, settings: Settings) -> None:
        """Settings changed in the console: new quiet hours apply from the next pass (started now,
        so messages a wider window lets out go at once)."""
        self.settings = settings
        self.quiet = QuietHours.from_settings(settings.quiet_hours, settings.site.timezone)
        self.wake()

    def wake(self) -> None:
        """Something changed (new work, a line came up): run a pass soon."""
        self._wake.set()

    def endpoints_changed(self, any_enabled: bool) -> None:
        self._has_endpoints = any_enabled

    async def on_status_report(self, report: StatusReport) -> None:
        """Modem sink handler: returns once the report is committed."""
        if self._task is None or self._task.done():
            events: Events = []
            async with self.db.write() as conn:
                await self.ledger.apply_report(conn, report, self.clock.now(), events)
                await self._enqueue(conn, events)
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        if not self._reports:
            self._reports_since = loop.time()
        self._reports.append((report, fut))
        self._wake.set()
        await fut

    async def on_line_status(self, status: LineStatus) -> None:
        self._wake.set()

    # ------------------------------------------------------------------ the loop

    async def _run(self) -> None:
        while True:
            stopping = self._stopping
            self._wake.clear()
            try:
                delay = await self._pass(claim=not stopping)
            except asyncio.CancelledError:
                raise
            except DiskFull:
                delay = self.fallback  # the store said it once at ERROR: no traceback every pass
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                delay = self.fallback
            if stopping and not self._jobs and not self._outcomes and not self._reports:
                return
            if self._wake.is_set():
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    def _line_names(self) -> list[str]:
        if self.pool is None:
            return []
        return [s.name for s in self.pool.statuses()]

    def _book(self, name: str) -> LineBook:
        book = self.books.get(name)
        if book is None:
            book = self.books[name] = LineBook(name, LineUsage(self.tz))
        return book

    async def _pass(self, *, claim: bool) -> float:
        """One transaction: outcomes, reports, housekeeping, claims. Returns seconds to sleep."""
        now, mono = self.clock.now(), self.clock.monotonic()
        outcomes, self._outcomes = self._outcomes, []
        reports, self._reports = self._reports, []
        idle: list[LineBook] = []
        if claim and self.pool is not None:
            ready = [self._book(n) for n in self.pool.ready_lines()]
            idle = [b for b in least_loaded(ready, now) if b.free(mono) and b.usage.room(now, self.caps) > 0]
        housekeeping = mono - self._housekept >= 1.0
        loop_now = asyncio.get_running_loop().time()
        if reports and not (outcomes or idle or housekeeping) and self._jobs \
                and loop_now - self._reports_since < REPORT_BATCH_S:
            # A send is in flight: let these reports share the transaction of its outcome.
            self._reports = reports + self._reports
            return REPORT_BATCH_S
        if not (outcomes or reports or idle or housekeeping):
            return self._delay(now, mono)
        events: Events = []
        jobs: list[Job] = []
        try:
            async with self.db.write() as conn:
                for o in outcomes:
                    await self._apply(conn, o, now, mono, events)
                for report, _ in reports:
                    await self._guarded(conn, self.ledger.apply_report(conn, report, now, events), "status report")
                if housekeeping:
                    await self._housekeeping(conn, now, events)
                for book in idle:
                    job = await self._claim(conn, book, now, events)
                    if job is not None:
                        jobs.append(job)
                await self._enqueue(conn, events)
        except BaseException:
            # Nothing of this pass is durable: put the work back for the next one.
            self._outcomes = outcomes + self._outcomes
            self._reports = reports + self._reports
            for job in jobs:
                self._book(job.line).busy = False
            raise
        if housekeeping:
            self._housekept = mono
        self.passes += 1
        for _, fut in reports:
            if not fut.done():
                fut.set_result(None)
        for job in jobs:
            self._start(job)
        if events and self._has_endpoints and self.on_events is not None:
            self.on_events()
        return self._delay(now, mono)

    async def _guarded(self, conn: aiosqlite.Connection, step: Any, what: str) -> bool:
        """Run one item in a savepoint: a bad item is logged and skipped, never blocks the pass."""
        await conn.execute("SAVEPOINT item")
        try:
            await step
        except Exception:
            await conn.execute("ROLLBACK TO item")
            await conn.execute("RELEASE item")
            log.exception("dispatcher: %s could not be applied; skipped", what)
            return False
        await conn.execute("RELEASE item")
        return True

    async def _apply(self, conn: aiosqlite.Connection, o: Outcome, now: datetime, mono: float,
                     events: Events) -> None:
        book = self._book(o.job.line)
        box: dict[str, Any] = {}

        async def step() -> None:
            box["v"] = await self.ledger.apply_outcome(conn, o, now, events)

        if not await self._guarded(conn, step(), f"outcome of message {o.job.message.id}"):
            return
        v = box["v"]
        if v.segments_sent:
            book.usage.record(now, v.segments_sent)
            book.sent_segments += v.segments_sent
        if v.line_trouble:
            book.cooldown_until = mono + self.settings.outbound.line_cooldown_seconds
            book.last_error = v.line_trouble
            log.warning("line %s could not send (%s): its work goes to the other lines for %.0f s", book.name,
                        v.line_trouble, self.settings.outbound.line_cooldown_seconds)
        if v.retry_at is not None and (self._retry_at is None or v.retry_at < self._retry_at):
            self._retry_at = v.retry_at

    def _clock_trusted(self, now: datetime) -> bool:
        """Schedules, expiry and quiet hours wait for a sane clock (see ClockSanity); immediate
        transactional messages do not."""
        if self.clock_sanity.trusted(now):
            if self._untrusted_logged:
                log.warning("the clock now reads %s: schedules and marketing quiet hours apply again", now)
                self._untrusted_logged = False
            return True
        if not self._untrusted_logged:
            log.warning("the clock reads %s, before %s: holding scheduled and marketing messages until it is "
                        "set (NTP)", now, self.clock_sanity.floor)
            self._untrusted_logged = True
        return False

    async def _housekeeping(self, conn: aiosqlite.Connection, now: datetime, events: Events) -> None:
        hours = self.settings.outbound.report_timeout_hours
        flagged = await store.flag_unreported(conn, now - timedelta(hours=hours), unreported_reason(hours), now)
        if flagged:
            log.info("%d sent message(s) got no delivery report within %g h", flagged, hours)
        await self._waiting_reasons(conn, now)
        if self._clock_trusted(now):
            await store.promote_due(conn, now)
            expired = await store.expire_due(conn, now)
            if expired:
                for row in await store.get_many(conn, expired):
                    events.append(("message.failed", event_payload(row, "expired", now, error=row.error)))
        self._has_endpoints = await webhook_store.any_subscriber(conn)

    async def _waiting_reasons(self, conn: aiosqlite.Connection, now: datetime) -> None:
        """Messages pinned to a line that cannot send (down, not answering, removed) say so; those
        pinned softly by the line choice rule go back to any line."""
        if self.pool is None:
            return
        statuses = {s.name: s for s in self.pool.statuses()}
        ready = set(self.pool.ready_lines())
        for line in await store.pinned_lines(conn):
            if line in ready:
                if line in self._waiting:
                    await store.set_waiting_reason(conn, line, None, now)
                    self._waiting.discard(line)
                continue
            # A soft pin (the line choice rule's, not the sender's) does not wait for its line.
            if await store.unpin_soft(conn, line, now):
                self.wake()
            s = statuses.get(line)
            detail = (s.last_error or s.sim_mismatch) if s is not None else None
            reason = (Problem("line.waiting_unconfigured", "", {"line": line}) if s is None else
                      Problem("line.waiting_detail", "", {"line": line, "line_state": s.state.value, "detail": detail})
                      if detail else Problem("line.waiting", "", {"line": line, "line_state": s.state.value}))
            await store.set_waiting_reason(conn, line, reason, now)
            self._waiting.add(line)

    async def _claim(self, conn: aiosqlite.Connection, book: LineBook, now: datetime, events: Events) -> Job | None:
        """Commit the next message for `book` as `sending` (after the last-moment checks)."""
        if self._stopping:
            return None
        marketing = self._clock_trusted(now) and self.quiet.allowed(now)
        room = book.usage.room(now, self.caps)
        scope_all = self.settings.optout.scope == "all"
        bad: list[int] = []
        for _ in range(200):  # bounded: expired/blocked candidates are settled on the way
            m = await store.best_queued(conn, line=book.name, now=now, marketing=marketing, room=room, exclude=bad)
            if m is None:
                return None
            try:
                if m.expires_at is not None and m.expires_at <= now:
                    reason = Problem("send.expired")
                    await store.set_final(conn, [m.id], "expired", now, reason=reason)
                    events.append(("message.failed", event_payload(m, "expired", now, error=reason.english())))
                    continue
                if optout_applies(m.category, m.source, scope_all=scope_all) and await optouts.is_opted_out(conn, m.to):
                    await store.set_final(conn, [m.id], "blocked", now, reason=Problem("optout.blocked_send"))
                    continue
                await store.mark_sending(conn, m.id, book.name, now)
                skip = await store.sent_seqs(conn, m.id) if m.sent_line is not None else set()
            except Exception:
                log.exception("message %d cannot be claimed; leaving it aside", m.id)
                bad.append(m.id)
                continue
            book.busy = True
            return Job(m, book.name, frozenset(skip), now)
        return None

    async def _enqueue(self, conn: aiosqlite.Connection, events: Events) -> None:
        if events and self._has_endpoints:
            await webhook_store.enqueue_events(conn, events, self.clock.now())

    def _delay(self, now: datetime, mono: float) -> float:
        """Seconds until the next thing the loop knows it must do (at most `fallback`)."""
        delay = self.fallback
        if self._retry_at is not None:
            if self._retry_at <= now:
                self._retry_at = None
                delay = 0.0
            else:
                delay = min(delay, (self._retry_at - now).total_seconds())
        for book in self.books.values():
            if not book.busy:
                for until in (book.cooldown_until, book.spacing_until):
                    if until > mono:
                        delay = min(delay, until - mono)
        return max(0.0, delay)

    # ------------------------------------------------------------------ sending

    def _start(self, job: Job) -> None:
        task = asyncio.create_task(self._send(job), name=f"send-{job.line}-{job.message.id}")
        self._jobs[job.line] = task

        def done(t: asyncio.Task[None], line: str = job.line) -> None:
            if self._jobs.get(line) is t:
                del self._jobs[line]
            self._wake.set()

        task.add_done_callback(done)

    async def _send(self, job: Job) -> None:
        """Hand the job's missing parts to its line; post the outcome for the next pass."""
        m = job.message
        sent: list[tuple[int, int, datetime]] = []
        committed: set[int] = set()
        error: SendError | None = None
        failed_seq: int | None = None
        assert self.pool is not None
        started = self.clock.monotonic()
        try:
            parts = [p for p in encode_submit(m.to, m.text, reference=m.concat_ref) if p.sequence not in job.skip]
            for i, part in enumerate(parts):
                failed_seq = part.sequence
                reference = await self.pool.send_part(job.line, part)
                sent.append((part.sequence, reference, self.clock.now()))
                if i < len(parts) - 1 and await self._commit_part(job, *sent[-1]):
                    committed.add(part.sequence)
            failed_seq = None
        except PduError as exc:
            error = PermanentSendError(f"cannot encode this message: {exc}")
        except SendError as exc:
            error = exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug below us: the part may have gone, so never retry blindly
            log.exception("unexpected error sending message %d on %s", m.id, job.line)
            error = OutcomeUnknownError(f"unexpected error while sending: {exc}")
        if error is None and sent and self.on_sent is not None:
            self.on_sent(job.line, self.clock.monotonic() - started)  # outside the try: never alters the outcome
        book = self._book(job.line)
        book.busy = False
        book.spacing_until = self.clock.monotonic() + spacing(self.settings.outbound, self.rng)
        self._outcomes.append(Outcome(job, tuple(sent), error, failed_seq, frozenset(committed)))
        self._wake.set()

    async def _commit_part(self, job: Job, seq: int, reference: int, at: datetime) -> bool:
        """Commit one part of a long message as soon as the modem accepted it (more parts to go),
        so a crash before the last part leaves the record of what went out: a person can then
        complete the missing parts with the same concatenation reference, or resend whole."""
        try:
            async with self.db.write() as conn:
                await store.record_parts_sent(conn, [(job.message.id, seq, job.line, reference, at)])
        except Exception:  # the outcome commits it with the rest; sending goes on
            log.exception("message %d: part %d could not be committed on its own", job.message.id, seq)
            return False
        return True

    # ------------------------------------------------------------------ views

    def line_info(self, name: str) -> dict[str, Any]:
        """Caps used and limits, busy/cool-down state of one line (API and console)."""
        now, mono = self.clock.now(), self.clock.monotonic()
        book = self._book(name)
        minute, hour, day = book.usage.used(now)
        return {
            "busy": book.busy,
            "cooling_down_s": round(max(0.0, book.cooldown_until - mono), 1),
            "last_send_error": book.last_error,
            "caps": {"minute": {"used": minute, "limit": self.caps.per_minute},
                     "hour": {"used": hour, "limit": self.caps.per_hour},
                     "day": {"used": day, "limit": self.caps.per_day}},
        }

    def line_views(self) -> list[LineView]:
        """Every line as the next claim would see it (for why_waiting)."""
        now, mono = self.clock.now(), self.clock.monotonic()
        ready = set(self.pool.ready_lines()) if self.pool is not None else set()
        views = []
        for name in sorted(set(self._line_names()) | ready):
            book = self._book(name)
            until = max(book.cooldown_until, book.spacing_until)
            views.append(LineView(
                name, name in ready, book.usage.room(now, self.caps), book.usage.next_reset(now, self.caps),
                now + timedelta(seconds=until - mono) if until > mono else None, book.cooldown_until > mono, book.busy))
        return views

    def why_waiting(self, message: MessageRow) -> Wait | None:
        """Why `message` has not gone out yet, by the rules the next claim applies."""
        return why_waiting(message, now=self.clock.now(), quiet=self.quiet, lines=self.line_views())

"""The SMTP sender: drains the e-mail outbox through aiosmtplib, one message at a time.

A message the server did not take (down, refusing, timing out) stays pending with the error
and is retried with capped exponential backoff until it is `[email] max_age_hours` old, so a mail
server that is down for a while loses nothing. A recipient refused for good (5xx) fails the message
at once. Every failure is logged once per message and kept on its row for the console.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from gatewayd.clock import Clock
from gatewayd.config import EmailSettings
from gatewayd.outbound.retry import RetryPolicy
from gatewayd.store import email_outbox as store
from gatewayd.store.db import Database
from gatewayd.store.errors import DiskFull

log = logging.getLogger(__name__)


def compose(settings: EmailSettings, recipients: Sequence[str], subject: str, body: str,
            when: datetime) -> EmailMessage:
    """The MIME message (plain text, UTF-8; headers encoded by the library)."""
    msg = EmailMessage()
    msg["From"] = settings.sender
    msg["To"] = ", ".join(recipients)
    # One line, bounded: a subject carrying an SMS excerpt must not inject headers.
    msg["Subject"] = " ".join(subject.split())[:200]
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: vacation responders do not answer it
    msg.set_content(body)
    return msg


class SendFailed(Exception):
    """The server did not take the message; `permanent` when retrying cannot help (5xx)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


@dataclass
class SenderStatus:
    """What the console shows about e-mail: the last success and the last failure."""

    last_sent_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


class EmailSender:
    """Background task over the outbox; `wake()` after committing a new message."""

    def __init__(self, db: Database, settings: EmailSettings, clock: Clock, *, fallback: float = 5.0,
                 rng: random.Random | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.fallback = fallback
        self.rng = rng or random.Random()
        self.retry = RetryPolicy(settings.retry_base_seconds, settings.retry_cap_seconds, 10**9)
        self.status = SenderStatus()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    async def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="email-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def wake(self) -> None:
        self._wake.set()

    async def deliver(self, recipients: Sequence[str], subject: str, body: str) -> None:
        """Hand one message to the server now (SendFailed if it does not take it). Used by the
        outbox loop, the console's test button and alerts that cannot be written to the database."""
        if not self.enabled:
            raise SendFailed("e-mail is not configured ([email] host is empty)", permanent=True)
        s = self.settings
        message = compose(s, recipients, subject, body, self.clock.now())
        try:
            errors, _ = await aiosmtplib.send(
                message, sender=s.sender, recipients=list(recipients), hostname=s.host, port=s.port,
                username=s.username or None, password=s.password or None, timeout=s.timeout_seconds,
                use_tls=s.security == "tls", start_tls=True if s.security == "starttls" else False)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise SendFailed(f"every recipient refused: {_refusals(exc.recipients)}", permanent=True) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"server answered {exc.code} {exc.message}"[:300], permanent=500 <= exc.code < 600) from None
        except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
            raise SendFailed(f"{s.host}:{s.port}: {exc or type(exc).__name__}"[:300]) from None
        refused = {k: v for k, v in errors.items() if v.code >= 400}
        if refused:  # some recipients took it: a retry would send them a second copy
            log.warning("e-mail %r not accepted for %s", subject, ", ".join(refused))

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self.drain()
            except asyncio.CancelledError:
                raise
            except DiskFull:
                delay = self.fallback
            except Exception:
                log.exception("e-mail outbox pass failed")
                delay = self.fallback
            if self._wake.is_set():
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def drain(self) -> float:
        """Send every due message; seconds until the next one is due."""
        while True:
            batch = await store.due(self.db, self.clock.now(), limit=20)
            if not batch:
                break
            for email in batch:
                wait = await self._attempt(email)
                if wait is not None:
                    # The server is down or refusing: the others wait as long as this one.
                    return wait
        nxt = await store.next_due_at(self.db)
        if nxt is None:
            return self.fallback * 12
        return max(0.05, min(self.fallback * 12, (nxt - self.clock.now()).total_seconds()))

    async def _attempt(self, email: store.Email) -> float | None:
        """One try; the seconds to wait when the server could not be used, else None."""
        attempt = email.attempts + 1
        try:
            await self.deliver(email.recipients, email.subject, email.body)
        except SendFailed as exc:
            now = self.clock.now()
            self.status.last_error, self.status.last_error_at = str(exc), now
            deadline = email.created_at + timedelta(hours=self.settings.max_age_hours)
            next_at = now + timedelta(seconds=self.retry.delay(attempt, self.rng))
            state = "pending"
            if exc.permanent or now >= deadline:
                state = "failed"
                log.error("e-mail %d (%s) to %s given up after %d attempt(s): %s", email.id, email.purpose,
                          ", ".join(email.recipients), attempt, exc)
            else:
                if attempt == 1:  # once per message, not at every retry
                    log.warning("e-mail %d (%s) not sent, will retry: %s", email.id, email.purpose, exc)
                next_at = min(next_at, deadline)
            await store.record(self.db, email.id, attempts=attempt, state=state, error=str(exc), at=now,
                               next_at=next_at)
            return None if state == "failed" else max(0.05, (next_at - now).total_seconds())
        now = self.clock.now()
        self.status.last_sent_at = now
        if email.attempts:
            log.info("e-mail %d sent after %d attempt(s)", email.id, attempt)
        await store.record(self.db, email.id, attempts=attempt, state="sent", error=None, at=now, next_at=None)
        return None


def _refusals(recipients: object) -> str:
    try:
        return "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in recipients)  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - only used in a message
        return str(recipients)


_TEST_WORDS = {
    "fr": ("[gatewayd] E-mail de test", "Ce message de test a été envoyé par gatewayd ({host}) : "
                                        "l'envoi d'e-mails fonctionne.\n"),
    "en": ("[gatewayd] Test e-mail", "This test message was sent by gatewayd ({host}): e-mail works.\n"),
}


async def send_test(sender: EmailSender, to: str, language: str) -> None:
    """The "send a test e-mail" action of the console and the API: straight to the server, so the
    person who pressed the button reads the server's answer (a ProblemError naming it)."""
    from gatewayd.config import parse_addresses
    from gatewayd.errors import InvalidInput, ServiceUnavailable

    try:
        (address,) = parse_addresses([to])
    except ValueError:
        raise InvalidInput("to", code="email.bad_address", address=to[:254]) from None
    subject, body = _TEST_WORDS.get(language, _TEST_WORDS["en"])
    try:
        await sender.deliver([address], subject, body.format(host=sender.settings.host))
    except SendFailed as exc:
        now = sender.clock.now()
        sender.status.last_error, sender.status.last_error_at = str(exc), now
        log.warning("test e-mail to %s failed: %s", address, exc)
        raise ServiceUnavailable(code="email.test_failed", error=str(exc)) from None
    sender.status.last_sent_at = sender.clock.now()
    log.info("test e-mail sent to %s", address)

"""Webhook sender: delivers the persisted outbox (gatewayd.store.webhooks) to the endpoints.

Every request is a POST of JSON
    {"id": <event id>, "type": "message.sent", "created_at": "<RFC 3339>", "data": {...}}
with these headers:
    Content-Type: application/json
    X-Gatewayd-Event: message.sent
    X-Gatewayd-Delivery: <delivery id>      same on every retry of this event to this endpoint
    X-Gatewayd-Timestamp: <unix seconds>    when this attempt was signed
    X-Gatewayd-Signature: v1=<hex>          HMAC-SHA256(secret, "<timestamp>.<raw body>")
A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the endpoint's
secret, compares in constant time, and rejects timestamps far from its clock (replays). Delivery is
at least once: deduplicate on X-Gatewayd-Delivery. Any 2xx answer counts as delivered; anything
else is retried with exponential backoff until the event is `max_age_hours` old.

It runs as its own task with bounded concurrency (overall and per endpoint) and a timeout per
request, so a slow or dead endpoint never slows sending: the dispatcher only writes outbox rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import aiohttp

from gatewayd.clock import Clock, utc_iso
from gatewayd.config import WebhookSettings
from gatewayd.errors import InvalidInput
from gatewayd.outbound.retry import RetryPolicy
from gatewayd.store import webhooks as store
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

SIGNATURE_VERSION = "v1"
ANSWER_BYTES = 64 * 1024  # of a receiver's answer body, at most

# Another API's envelope for an endpoint registered through it (gatewayd.compat): the body and
# headers of one attempt at `now`, from the stored event.
Envelope = Callable[["store.DueDelivery", datetime], Awaitable[tuple[bytes, dict[str, str]]]]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Gatewayd-Signature value for `body` signed at `timestamp`."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def verify(secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300) -> bool:
    """What a receiver does: constant-time check of the signature and of the timestamp's age."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def check_target(url: str, *, allow_local: bool) -> None:
    """Refuse an endpoint on this gateway itself, link-local (169.254/16: cloud metadata; fe80::/10)
    or unspecified (0.0.0.0, ::), unless [webhooks] allow_local_targets: a webhook must not be a way
    to reach local services from the API or the console. The one check for every way of adding one."""
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if allow_local or not host:
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise InvalidInput(code="webhook.local_target", field="url", host=host)
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return  # a name other than localhost: not resolved here (it may change before delivery)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_link_local or address.is_unspecified:
        raise InvalidInput(code="webhook.local_target", field="url", host=host)


def failure_text(exc: BaseException) -> str:
    """What a failed attempt shows users: the kind of failure, not the socket detail (an endpoint's
    errors must not tell which ports of which host are open)."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return "TLS handshake failed"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return "host name not found"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else "could not connect"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return "connection closed by the endpoint"
    return "request failed"


def envelope(delivery: store.DueDelivery) -> bytes:
    """The request body (the stored payload is embedded as is, never re-encoded)."""
    head = (f'{{"id":{delivery.event_id},"type":"{delivery.event_type}",'
            f'"created_at":"{utc_iso(delivery.event_created_at)}","data":')
    return (head + delivery.payload + "}").encode()


class WebhookSender:
    """Drains due deliveries in the background; `wake()` after new events were committed."""

    def __init__(self, db: Database, settings: WebhookSettings, clock: Clock, *, fallback: float = 1.0,
                 rng: random.Random | None = None) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock
        self.fallback = fallback
        self.rng = rng or random.Random()
        self.retry = RetryPolicy(settings.retry_base_seconds, settings.retry_cap_seconds, 10**9)
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._per_endpoint: dict[int, int] = {}
        self._wake = asyncio.Event()
        self._turn = 0
        self.delivered = 0
        self.failed_attempts = 0
        self.envelopes: dict[str, Envelope] = {}  # endpoint format -> its envelope (gatewayd's otherwise)

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout_seconds)
        # No decompression: a receiver answering a gzip bomb must not make us inflate gigabytes.
        self._session = aiohttp.ClientSession(timeout=timeout, headers={"User-Agent": "gatewayd-webhooks"},
                                              auto_decompress=False)
        self._task = asyncio.create_task(self._run(), name="webhook-sender")

    async def stop(self) -> None:
        """Cancel the loop and requests in flight (they stay pending and go again after restart)."""
        tasks = [t for t in (self._task, *self._inflight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def wake(self) -> None:
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                delay = await self._fill()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook sender pass failed")
                delay = self.fallback
            if self._wake.is_set():
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _fill(self) -> float:
        """Start deliveries up to the concurrency limits; seconds until the next one is due."""
        free = self.settings.concurrency - len(self._inflight)
        if free <= 0:
            return self.fallback
        now = self.clock.now()
        endpoints = await store.endpoints_with_pending(self.db)
        # Start with a different endpoint each pass, so none is always served last.
        self._turn = (self._turn + 1) % max(1, len(endpoints))
        for endpoint_id in endpoints[self._turn:] + endpoints[:self._turn]:
            room = min(free, self.settings.per_endpoint - self._per_endpoint.get(endpoint_id, 0))
            if room <= 0:
                continue  # this endpoint is slow: the others go ahead
            for delivery in await store.due_deliveries(self.db, endpoint_id, now, limit=room,
                                                       exclude=list(self._inflight)):
                self._per_endpoint[endpoint_id] = self._per_endpoint.get(endpoint_id, 0) + 1
                task = asyncio.create_task(self._deliver(delivery), name=f"webhook-{delivery.id}")
                self._inflight[delivery.id] = task
                task.add_done_callback(lambda t, d=delivery: self._done(d))
                free -= 1
            if free <= 0:
                break
        nxt = await store.next_pending_at(self.db)
        if nxt is None:
            return self.fallback
        return max(0.0, min(self.fallback, (nxt - now).total_seconds()))

    def _done(self, delivery: store.DueDelivery) -> None:
        self._inflight.pop(delivery.id, None)
        left = self._per_endpoint.get(delivery.endpoint_id, 1) - 1
        if left > 0:
            self._per_endpoint[delivery.endpoint_id] = left
        else:
            self._per_endpoint.pop(delivery.endpoint_id, None)
        self._wake.set()

    async def _deliver(self, d: store.DueDelivery) -> None:
        assert self._session is not None
        now = self.clock.now()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        other = self.envelopes.get(d.format)
        if other is not None:
            body, headers = await other(d, now)
        else:
            body = envelope(d)
            stamp = int(now.timestamp())
            headers = {"Content-Type": "application/json", "X-Gatewayd-Event": d.event_type,
                       "X-Gatewayd-Delivery": str(d.id), "X-Gatewayd-Timestamp": str(stamp),
                       "X-Gatewayd-Signature": sign(d.secret, stamp, body)}
        try:
            async with self._session.post(d.url, data=body, headers=headers, allow_redirects=False) as resp:
                status = resp.status
                # Only the status counts; read a little of the answer (so a small one keeps the
                # connection reusable) and drop the rest with the connection.
                await resp.content.read(ANSWER_BYTES)
                if not resp.content.at_eof():
                    resp.close()
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            error = failure_text(exc)
            log.info("webhook %d to %s: %s", d.id, d.url, f"{type(exc).__name__}: {exc}"[:300])
        duration = int((time.monotonic() - started) * 1000)
        attempt = d.attempts + 1
        at = self.clock.now()
        if error is None:
            self.delivered += 1
            await store.record_attempt(self.db, d.id, attempt=attempt, at=at, status=status, error=None,
                                       duration_ms=duration, state="delivered", next_at=None)
            return
        self.failed_attempts += 1
        deadline = d.event_created_at + timedelta(hours=self.settings.max_age_hours)
        next_at: datetime | None = at + timedelta(seconds=self.retry.delay(attempt, self.rng))
        state = "pending"
        if at >= deadline:
            state, next_at = "failed", None
            log.warning("webhook %d to %s given up after %d attempts: %s", d.id, d.url, attempt, error)
        elif next_at is not None and next_at > deadline:
            next_at = deadline  # one last try when the event is as old as we keep trying
        await store.record_attempt(self.db, d.id, attempt=attempt, at=at, status=status, error=error,
                                   duration_ms=duration, state=state, next_at=next_at)

"""Webhook sender: delivers the persisted outbox (gatewayd.store.webhooks) to the endpoints.

Requests follow the Standard Webhooks specification (https://www.standardwebhooks.com/), so a
receiver can use its ready-made verifiers. Every request is a POST of JSON
    {"id": "evt_…", "type": "message.sent", "timestamp": "<RFC 3339>", "created_at": "<same>", "data": {...}}
with these headers:
    Content-Type: application/json
    webhook-id: evt_<32 hex>         the event's id: the same on every retry, never reused
    webhook-timestamp: <unix seconds> when this attempt was signed
    webhook-signature: v1,<base64>    HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")
The key is the endpoint's secret `whsec_<base64>` base64-decoded. An endpoint created before
secrets took that form keeps its secret: its key is the secret's UTF-8 bytes, and it also gets the
former X-Gatewayd-* headers unchanged (X-Gatewayd-Signature: v1=<hex HMAC of "<timestamp>.<body>">),
so its receiver keeps working until the secret is rotated (a rotation gives a whsec_ secret).
Delivery is at least once: deduplicate on webhook-id. Any 2xx answer counts as delivered; anything
else is retried with exponential backoff until the event is `max_age_hours` old.

It runs as its own task with bounded concurrency (overall and per endpoint) and a timeout per
request, so a slow or dead endpoint never slows sending: the dispatcher only writes outbox rows.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import logging
import random
import secrets
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


SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret as the specification writes it: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: whsec_'s base64 decoded; an older (pre-whsec_) secret's own bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            return base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except binascii.Error:
            pass
    return secret.encode()


def sign(secret: str, event_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature value for `body` of event `event_id` signed at `timestamp`."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(mac).decode()}"


def verify(secret: str, event_id: str, timestamp: str, body: bytes, signature: str, *, now: float,
           tolerance: float = 300) -> bool:
    """What a receiver does: the timestamp's age, then any of the space-separated signatures, in constant time."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance:
        return False
    expected = sign(secret, event_id, ts, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signature.split())


def legacy_sign(secret: str, timestamp: int, body: bytes) -> str:
    """X-Gatewayd-Signature, still sent to endpoints whose secret predates whsec_ (see the module's doc)."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={mac}"


def headers_for(d: store.DueDelivery, body: bytes, stamp: int) -> dict[str, str]:
    """The headers of one attempt of `d` signed at `stamp` (unix seconds)."""
    headers = {"Content-Type": "application/json", "webhook-id": d.event_uid, "webhook-timestamp": str(stamp),
               "webhook-signature": sign(d.secret, d.event_uid, stamp, body)}
    if not d.secret.startswith(SECRET_PREFIX):
        headers.update({"X-Gatewayd-Event": d.event_type, "X-Gatewayd-Delivery": str(d.id),
                        "X-Gatewayd-Timestamp": str(stamp), "X-Gatewayd-Signature": legacy_sign(d.secret, stamp, body)})
    return headers


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
    at = utc_iso(delivery.event_created_at)
    head = (f'{{"id":"{delivery.event_uid}","type":"{delivery.event_type}",'
            f'"timestamp":"{at}","created_at":"{at}","data":')
    return (head + delivery.payload + "}").encode()


def host_of(url: str) -> str:
    """The endpoint's host and port, for logs: a URL may carry a password or a token (user part,
    query), which must not reach the journal nor the diagnostics bundle."""
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
    except ValueError:
        return "(unreadable URL)"


class EndpointIncidents:
    """Which endpoints are failing now, so a dead endpoint is logged once per incident (when it
    starts, and when it answers again) instead of once per attempt of every event."""

    def __init__(self) -> None:
        self._failing: dict[int, list[int]] = {}  # endpoint id -> [failed attempts, events given up]

    def failed(self, endpoint_id: int, *, gave_up: bool = False) -> bool:
        """Count a failed attempt; True when it opens an incident (the endpoint was answering)."""
        counts = self._failing.get(endpoint_id)
        opened = counts is None
        if counts is None:
            counts = self._failing[endpoint_id] = [0, 0]
        counts[0] += 1
        counts[1] += gave_up
        return opened

    def answered(self, endpoint_id: int) -> tuple[int, int] | None:
        """Close the endpoint's incident: (failed attempts, events given up), or None without one."""
        counts = self._failing.pop(endpoint_id, None)
        return (counts[0], counts[1]) if counts is not None else None


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
        self.incidents = EndpointIncidents()

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
                task.add_done_callback(functools.partial(self._done, delivery))
                free -= 1
            if free <= 0:
                break
        nxt = await store.next_pending_at(self.db)
        if nxt is None:
            return self.fallback
        return max(0.0, min(self.fallback, (nxt - now).total_seconds()))

    def _done(self, delivery: store.DueDelivery, _task: object = None) -> None:
        """A delivery task finished (a done callback: the task itself comes second, unused)."""
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
            headers = headers_for(d, body, int(now.timestamp()))
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
            log.debug("webhook %d to %s: %s", d.id, d.url, f"{type(exc).__name__}: {exc}"[:300])
        duration = int((time.monotonic() - started) * 1000)
        attempt = d.attempts + 1
        at = self.clock.now()
        if error is None:
            self.delivered += 1
            closed = self.incidents.answered(d.endpoint_id)
            if closed is not None:
                log.info("webhook endpoint #%d at %s answers again, after %d failed attempts (%d events given up)",
                         d.endpoint_id, host_of(d.url), *closed)
            await store.record_attempt(self.db, d.id, attempt=attempt, at=at, status=status, error=None,
                                       duration_ms=duration, state="delivered", next_at=None)
            return
        self.failed_attempts += 1
        deadline = d.event_created_at + timedelta(hours=self.settings.max_age_hours)
        next_at: datetime | None = at + timedelta(seconds=self.retry.delay(attempt, self.rng))
        state = "pending"
        if at >= deadline:
            state, next_at = "failed", None
            log.debug("webhook %d to %s given up after %d attempts: %s", d.id, d.url, attempt, error)
        elif next_at is not None and next_at > deadline:
            next_at = deadline  # one last try when the event is as old as we keep trying
        if self.incidents.failed(d.endpoint_id, gave_up=state == "failed"):
            log.warning("webhook endpoint #%d at %s is not answering (%s): its events are kept and retried for "
                        "%s h; logged again when it answers", d.endpoint_id, host_of(d.url), error,
                        f"{self.settings.max_age_hours:g}")
        await store.record_attempt(self.db, d.id, attempt=attempt, at=at, status=status, error=error,
                                   duration_ms=duration, state=state, next_at=next_at)

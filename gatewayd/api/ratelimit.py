"""Per-API-key limits on sending: a request rate (token bucket) and a daily recipient cap, so a
leaked key cannot pump thousands of SMS to premium numbers. Over a limit: 429 with Retry-After.

Answers of a rate-limited request carry the key's bucket (the IETF RateLimit header fields):
RateLimit-Limit (requests a burst may hold), RateLimit-Remaining (requests left now) and
RateLimit-Reset (seconds until the bucket is full again)."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from gatewayd.clock import Clock
from gatewayd.config import ApiSettings
from gatewayd.errors import InvalidInput, TooManyRequests

CountSince = Callable[[int, datetime], Awaitable[int]]


@dataclass(frozen=True)
class RateState:
    """A key's request bucket just after a request took (or failed to take) from it."""

    limit: int
    remaining: int
    reset: int

    def headers(self) -> dict[str, str]:
        return {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
                "RateLimit-Reset": str(self.reset)}


# Where check_rate() leaves a request's RateState (typed where this aiohttp has request keys).
STATE_KEY: Any = web.RequestKey("gatewayd.ratelimit", RateState) if hasattr(web, "RequestKey") else "gatewayd.ratelimit"


async def add_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """on_response_prepare: the RateLimit-* fields on the answer of a rate-limited request (429s too)."""
    state = request.get(STATE_KEY)
    if isinstance(state, RateState):
        response.headers.update(state.headers())


class KeyLimits:
    """In-memory buckets; the daily count is rebuilt from the ledger, so it survives restarts."""

    def __init__(self, settings: ApiSettings, clock: Clock, tz: ZoneInfo, count_since: CountSince) -> None:
        self.settings = settings
        self.clock = clock
        self.tz = tz
        self.count_since = count_since
        self._buckets: dict[int, tuple[float, float]] = {}
        self._daily: dict[int, tuple[date, int]] = {}

    def check_rate(self, key_id: int, into: MutableMapping[Any, Any] | None = None) -> None:
        """Take one request from the key's bucket (a burst of 10 s worth is allowed); the bucket's
        state goes into `into` (the request) for the RateLimit-* answer headers."""
        per_minute = self.settings.requests_per_minute
        if per_minute <= 0:
            return
        rate = per_minute / 60.0
        capacity = max(1.0, per_minute / 6.0)
        mono = self.clock.monotonic()
        tokens, last = self._buckets.get(key_id, (capacity, mono))
        tokens = min(capacity, tokens + (mono - last) * rate)
        allowed = tokens >= 1.0
        if allowed:
            tokens -= 1.0
        self._buckets[key_id] = (tokens, mono)
        if into is not None:
            into[STATE_KEY] = RateState(int(capacity), int(tokens), math.ceil((capacity - tokens) / rate))
        if not allowed:
            wait = math.ceil((1.0 - tokens) / rate)
            raise TooManyRequests(f"this API key is limited to {per_minute} requests per minute", retry_after=wait)

    def _day(self) -> tuple[date, datetime, datetime]:
        local = self.clock.now().astimezone(self.tz)
        start = datetime.combine(local.date(), time(0), self.tz)
        end = datetime.combine(local.date() + timedelta(days=1), time(0), self.tz)
        return local.date(), start, end

    async def reserve(self, key_id: int, recipients: int) -> None:
        """Count `recipients` against today's cap; 429 (until midnight) when it would pass it."""
        cap = self.settings.recipients_per_day
        if cap <= 0:
            return
        if recipients > cap:
            raise InvalidInput("to", f"{recipients} recipients exceed this key's daily cap of {cap}")
        today, start, end = self._day()
        cached = self._daily.get(key_id)
        if cached is None or cached[0] != today:
            used = await self.count_since(key_id, start)
            cached = self._daily.get(key_id)  # another request may have loaded it meanwhile
            if cached is None or cached[0] != today:
                cached = (today, used)
        used = cached[1]
        if used + recipients > cap:
            self._daily[key_id] = cached
            wait = (end - self.clock.now()).total_seconds()
            raise TooManyRequests(f"this API key reached its daily cap of {cap} recipients ({used} used today)",
                                  retry_after=math.ceil(wait))
        self._daily[key_id] = (today, used + recipients)

    def release(self, key_id: int, recipients: int) -> None:
        """Give back a reservation whose messages were not accepted after all."""
        cached = self._daily.get(key_id)
        if cached is not None:
            self._daily[key_id] = (cached[0], max(0, cached[1] - recipients))

    def used_today(self, key_id: int) -> int | None:
        cached = self._daily.get(key_id)
        return cached[1] if cached and cached[0] == self._day()[0] else None

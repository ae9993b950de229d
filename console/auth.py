"""Console sign-in: server-side sessions in an HttpOnly SameSite=Lax cookie, expiry, and login rate limits.

The cookie holds a random token; the database holds its SHA-256, the user, the CSRF token and
the times. A session ends at its absolute expiry, after `idle_minutes` without a request, at
logout, or when its user is disabled or changes password.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from console.state import SESSION

from gatewayd import keys
from gatewayd.accounts import users as accounts
from gatewayd.accounts.throttle import Network, ThrottleRule, in_networks, parse_networks
from gatewayd.config import ConsoleSettings
from gatewayd.store import sessions as store
from gatewayd.store.errors import DiskFull
from gatewayd.store.sessions import SessionRow
from gatewayd.store.users import UserRow

log = logging.getLogger(__name__)

SESSION_COOKIE = "gw_session"
PRE_COOKIE = "gw_pre"           # CSRF token of forms shown before sign-in (double-submit cookie)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (writes cost fsyncs)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: web.Request) -> str:
    """The client's address; behind a trusted reverse proxy, the last hop it names in X-Forwarded-For."""
    remote = request.remote or "unknown"
    proxies = _rule(request).proxies
    if not proxies or not in_networks(remote, proxies):
        return remote
    hops = [h.strip() for h in ",".join(request.headers.getall("X-Forwarded-For", [])).split(",") if h.strip()]
    for hop in reversed(hops):  # the nearest hop not itself a trusted proxy is the client
        if not in_networks(hop, proxies):
            return hop[:64]
    return remote


@dataclass(frozen=True)
class _Rules:
    throttle: ThrottleRule
    proxies: tuple[Network, ...]


def _rule(request: web.Request) -> _Rules:
    c = _settings(request)
    return _rules(c.login_window_minutes, c.login_max_per_user, c.login_max_per_address,
                  c.login_max_per_user_untrusted, tuple(c.trusted_networks), tuple(c.trusted_proxies))


@functools.lru_cache(maxsize=16)
def _rules(window_minutes: int, per_user_address: int, per_address: int, per_user_untrusted: int,
           trusted: tuple[str, ...], proxies: tuple[str, ...]) -> _Rules:
    """The throttle rule of these settings (networks parsed once)."""
    return _Rules(ThrottleRule(timedelta(minutes=window_minutes), per_user_address, per_address, per_user_untrusted,
                               parse_networks(trusted)), parse_networks(proxies))


def trusted_networks(request: web.Request) -> tuple[Network, ...]:
    """[console] trusted_networks, parsed."""
    return _rule(request).throttle.trusted


def _settings(request: web.Request) -> ConsoleSettings:
    return request.app[keys.SETTINGS].console


def set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str,
               max_age: int | None, *, samesite: str = "Strict") -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite=samesite,
                        secure=_settings(request).secure_cookies)


async def start_session(request: web.Request, response: web.StreamResponse, user: UserRow) -> None:
    """Create a session for `user` and put its cookie on `response` (any previous cookie is replaced)."""
    settings = _settings(request)
    clock = request.app[keys.CLOCK]
    now = clock.now()
    token = secrets.token_urlsafe(32)
    lifetime = timedelta(hours=settings.session_hours)
    await store.create(request.app[keys.DB], token_hash=token_hash(token), user_id=user.id,
                       csrf_token=secrets.token_urlsafe(32), now=now, expires_at=now + lifetime,
                       address=client_address(request), user_agent=request.headers.get("User-Agent"))
    # The cookie lives no longer than the session; the idle limit is enforced server-side.
    # Lax: a link to the console from an intranet page opens it signed in (GETs change nothing);
    # every state-changing request still needs the session's CSRF token.
    set_cookie(request, response, SESSION_COOKIE, token, math.ceil(lifetime.total_seconds()), samesite="Lax")
    try:
        await store.purge(request.app[keys.DB], now=now, idle_before=now - timedelta(minutes=settings.idle_minutes),
                          attempts_before=now - timedelta(days=30))
    except DiskFull:
        pass  # housekeeping; the next sign-in does it


async def load_session(request: web.Request) -> SessionRow | None:
    """The live session named by the request's cookie; expired, idle or disabled ones are deleted."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100 or not token.isascii():
        return None
    db = request.app[keys.DB]
    row = await store.by_token_hash(db, token_hash(token))
    if row is None:
        return None
    now = request.app[keys.CLOCK].now()
    idle = timedelta(minutes=_settings(request).idle_minutes)
    if row.expires_at <= now or row.last_seen_at + idle <= now or row.user.disabled_at is not None:
        await store.delete(db, row.id)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        try:
            await store.touch(db, row.id, now)
        except DiskFull:
            pass  # a full disk must not sign everyone out: the idle clock just does not move
    return row


async def end_session(request: web.Request, response: web.StreamResponse) -> None:
    session: SessionRow | None = request.get(SESSION)
    if session is not None:
        await store.delete(request.app[keys.DB], session.id)
    response.del_cookie(SESSION_COOKIE, path="/")


@dataclass(frozen=True)
class LoginResult:
    """A sign-in outcome: the user, or why not (`locked_for` seconds when rate-limited)."""

    user: UserRow | None
    locked_for: int = 0


async def login(request: web.Request, name: str, password: str) -> LoginResult:
    """Check the throttle (gatewayd.accounts.throttle), then the password; every checked attempt is recorded."""
    db, clock = request.app[keys.DB], request.app[keys.CLOCK]
    now = clock.now()
    rule = _rule(request).throttle
    address = client_address(request)
    name = name.strip()
    if len(name) > 64:  # no user has such a name: never cut it down to one that exists
        name, password = name[:64] + "…", ""
    wait = rule.wait(now=now, address=address,
                     user_failures=await store.user_failures_by_address(db, name, now - rule.window),
                     address_failures=await store.failures_since(db, address=address, since=now - rule.window))
    if wait is not None:
        # Refused without checking the password, so guessing gains nothing while locked.
        log.warning("console sign-in refused (rate limit) for %r from %s", name, address)
        return LoginResult(None, max(1, math.ceil(wait.total_seconds())))
    user = await accounts.authenticate(db, name, password) if name and password else None
    try:
        await store.record_attempt(db, username=name or "?", address=address, success=user is not None, now=now)
    except DiskFull:
        pass  # on a full disk the attempt goes unrecorded rather than the sign-in failing
    if user is None:
        log.info("console sign-in failed for %r from %s", name, address)
    else:
        log.info("console sign-in: %s (%s) from %s", user.name, user.role, address)
    return LoginResult(user)


def new_pre_token() -> str:
    return secrets.token_urlsafe(24)

"""Console sign-in: server-side sessions in an HttpOnly SameSite=Lax cookie, expiry, and login rate limits.

The cookie holds a random token; the database holds its SHA-256, the user, the CSRF token and
the times. A session ends at its absolute expiry, after `idle_minutes` without a request, at
logout, or when its user is disabled or changes password.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from aiohttp import web
from gatewayd.console.state import SESSION

from gatewayd import keys
from gatewayd.accounts import users as accounts
from gatewayd.config import ConsoleSettings
from gatewayd.store import sessions as store
from gatewayd.store.sessions import SessionRow
from gatewayd.store.users import UserRow

log = logging.getLogger(__name__)

SESSION_COOKIE = "gw_session"
PRE_COOKIE = "gw_pre"           # CSRF token of forms shown before sign-in (double-submit cookie)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most this often (writes cost fsyncs)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_address(request: web.Request) -> str:
    return request.remote or "unknown"


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
    await store.purge(request.app[keys.DB], now=now, idle_before=now - timedelta(minutes=settings.idle_minutes),
                      attempts_before=now - timedelta(days=30))


async def load_session(request: web.Request) -> SessionRow | None:
    """The live session named by the request's cookie; expired, idle or disabled ones are deleted."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or len(token) > 100:
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
        await store.touch(db, row.id, now)
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
    """Check the rate limits, then the password; every checked attempt is recorded."""
    settings = _settings(request)
    db, clock = request.app[keys.DB], request.app[keys.CLOCK]
    now = clock.now()
    window = timedelta(minutes=settings.login_window_minutes)
    address = client_address(request)
    name = name.strip()[:64]
    per_user = await store.failures_since(db, username=name, since=now - window)
    per_address = await store.failures_since(db, address=address, since=now - window)
    waits = []
    if per_user.count >= settings.login_max_per_user and per_user.oldest:
        waits.append(per_user.oldest + window - now)
    if per_address.count >= settings.login_max_per_address and per_address.oldest:
        waits.append(per_address.oldest + window - now)
    if waits:
        # Refused without checking the password, so guessing gains nothing while locked.
        log.warning("console sign-in refused (rate limit) for %r from %s", name, address)
        return LoginResult(None, max(1, math.ceil(max(waits).total_seconds())))
    user = await accounts.authenticate(db, name, password) if name and password else None
    await store.record_attempt(db, username=name or "?", address=address, success=user is not None, now=now)
    if user is None:
        log.info("console sign-in failed for %r from %s", name, address)
    else:
        log.info("console sign-in: %s (%s) from %s", user.name, user.role, address)
    return LoginResult(user)


def new_pre_token() -> str:
    return secrets.token_urlsafe(24)

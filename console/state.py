"""Typed per-request and per-app values the console keeps (aiohttp RequestKey / AppKey)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.i18n import Formats

from gatewayd.store.sessions import SessionRow

SESSION: web.RequestKey[SessionRow | None] = web.RequestKey("console_session", object)  # type: ignore[arg-type]
LANG: web.RequestKey[str] = web.RequestKey("console_lang", str)
PRE_CSRF: web.RequestKey[str] = web.RequestKey("console_pre_csrf", str)
CSRF_EXPECTED: web.RequestKey[str] = web.RequestKey("console_csrf_expected", str)
FORMATS: web.RequestKey[Formats] = web.RequestKey("console_formats", Formats)

# Console-wide memo: {"has_users": bool} once a user exists (never goes back to none).
CONSOLE_STATE: web.AppKey[dict[str, Any]] = web.AppKey("console_state", dict)


def session_of(request: web.Request) -> SessionRow:
    """The signed-in session of a view that requires one (the gate guarantees it)."""
    session: SessionRow | None = request.get(SESSION)
    assert session is not None, "view declared a role, so the gate put a session here"
    return session

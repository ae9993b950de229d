"""Reading HTML form fields and query strings (strings only; services validate the meaning)."""

from __future__ import annotations

import base64
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiMapping

from gatewayd.errors import InvalidInput

# A posted form (request.post()) or the fields of a multipart upload (console/views/imports.py).
Form = MultiMapping[Any]


def text(form: Form, name: str, limit: int = 10_000) -> str:
    value = form.get(name, "")
    return value[:limit] if isinstance(value, str) else ""


def texts(form: Form, name: str, limit: int = 10_000) -> list[str]:
    return [v[:limit] for v in form.getall(name, []) if isinstance(v, str) and v.strip()]


def ints(form: Form, name: str) -> list[int]:
    """Every value of `name` that is an integer (others are ignored: they come from our own widgets)."""
    out = []
    for value in form.getall(name, []):
        if isinstance(value, str) and value.strip().isdigit():
            out.append(int(value))
    return out


def optional_int(value: str | None, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(field, "must be a whole number") from None


def checked(form: Form, name: str) -> bool:
    return form.get(name) in ("on", "1", "true", "yes")


def local_datetime(value: str, tz: ZoneInfo, field: str) -> datetime | None:
    """A datetime-local input ('2026-11-23T15:30') read in the box's time zone; None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "not a date and time (YYYY-MM-DDTHH:MM)") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=tz)


PAGE_SIZES = (25, 50, 100, 200)


def page_size(request: web.Request, default: int = 50) -> int:
    """The list's page size from ?size= (one of PAGE_SIZES; anything else is the default)."""
    raw = request.query.get("size", "")
    return int(raw) if raw.isdigit() and int(raw) in PAGE_SIZES else default


def month_to_date(today: date) -> tuple[date, date]:
    """The first of this month and today: the period an export form proposes."""
    return today.replace(day=1), today


# Keyset cursors in console URLs: opaque text so people do not edit them by hand.
def encode_cursor(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(request: web.Request, name: str = "after") -> list[str] | None:
    value = request.query.get(name)
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput(name, "not a page cursor of this console") from None


def cursor_int(request: web.Request, name: str = "after") -> int | None:
    parts = decode_cursor(request, name)
    if not parts:
        return None
    try:
        return int(parts[0])
    except ValueError:
        raise InvalidInput(name, "not a page cursor of this console") from None


def path_id(request: web.Request, name: str = "id") -> int:
    """An integer path part; a 404 page for anything else (console URLs are ours)."""
    raw = request.match_info.get(name, "")
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def actor(request: web.Request) -> str:
    """Who did it, as recorded in audit fields: 'console <user name>'."""
    from console.state import session_of

    return f"console {session_of(request).user.name}"

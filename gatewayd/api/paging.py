"""Keyset paging and the id/number parameters of the list and item endpoints.

Every list answers {key: [...], next_cursor}; a cursor is opaque to clients and names the position after which
the next page starts. (The inbox endpoints page on compound positions with their own cursors: api/inbound.py.)
"""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web

from gatewayd.api.body import ROW_ID_MAX
from gatewayd.errors import InvalidInput, NotFound

MAX_LIMIT = 500
_NSTR = {"type": ["string", "null"]}


def page_schema(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """{key: [item], next_cursor}: every list of this API."""
    return {
        "type": "object",
        "required": [key, "next_cursor"],
        "properties": {key: {"type": "array", "items": item}, "next_cursor": _NSTR},
    }


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> int | None:
    """The position a cursor points after; 422 naming `cursor` when it was not made by us."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1":
            raise ValueError
        position = int(value)
        if abs(position) > ROW_ID_MAX:  # forged: SQLite could not even bind it
            raise ValueError
        return position
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor returned by this API") from None


def page_args(request: web.Request, default: int = 100) -> tuple[int, int | None]:
    """(limit, position after which to continue) from ?limit=&cursor=."""
    raw = request.query.get("limit")
    try:
        limit = int(raw) if raw is not None else default
    except ValueError:
        raise InvalidInput("limit", "must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"between 1 and {MAX_LIMIT}")
    return limit, decode_cursor(request.query.get("cursor"))


def next_cursor(items: list[Any], limit: int, position: Any) -> str | None:
    """A cursor when the page is full (there may be more), else None."""
    return encode_cursor(position(items[-1])) if len(items) == limit else None


def int_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None
    if abs(value) > ROW_ID_MAX:  # SQLite could not even bind it
        raise InvalidInput(name, "out of range")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None
    if abs(value) > ROW_ID_MAX:  # no row has it, and SQLite could not even compare it
        raise NotFound(f"no such {name}")
    return value

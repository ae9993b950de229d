"""Calls: the log of incoming (always missed) calls, newest first, with the SMS sent back if any."""

from __future__ import annotations

from aiohttp import web
from console.forms import cursor_int, encode_cursor
from console.render import render
from console.routing import Pages

from gatewayd import keys

pages = Pages()
PAGE = 50


@pages.get("/calls", name="calls")
async def calls(request: web.Request) -> web.Response:
    before = cursor_int(request)
    page = await request.app[keys.INBOUND].calls.listing(limit=PAGE, before_id=before)
    return await render(request, "calls.html", {
        "calls": page, "next_after": encode_cursor(page[-1].id) if len(page) == PAGE else None,
        "paged": before is not None})

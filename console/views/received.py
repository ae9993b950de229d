"""Received (every inbound SMS newest first, word search) and Unread (threads with unread messages)."""

from __future__ import annotations

from aiohttp import web
from gatewayd.console.forms import cursor_int, encode_cursor, month_to_date
from gatewayd.console.render import formats, render
from gatewayd.console.routing import Pages

from gatewayd import keys
from gatewayd.store import console_reads, threads
from gatewayd.store import inbound as inbound_store

pages = Pages()
PAGE = 50


@pages.get("/received", name="received")
async def received(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:100]
    before = cursor_int(request)
    db = request.app[keys.DB]
    fts = threads.fts_query(q) if q else None
    if q and fts is None:
        page = []
    elif fts:
        page = await inbound_store.search(db, fts, limit=PAGE, before_id=before)
    else:
        async with db.read() as conn:
            page = await console_reads.inbound_newest(conn, before_id=before, limit=PAGE)
    return await render(request, "received/list.html", {
        "messages": page, "q": q, "next_after": encode_cursor(page[-1].id) if len(page) == PAGE else None,
        "paged": before is not None, "unread_total": await threads.unread_total(db),
        "export_period": month_to_date(formats(request).today)})


@pages.get("/received/unread", name="unread")
async def unread(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/discussions?unread=1")

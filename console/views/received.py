"""Received (every inbound SMS newest first, word search) and Unread (threads with unread messages)."""

from __future__ import annotations

from aiohttp import web
from console.forms import cursor_int, encode_cursor, month_to_date, page_size
from console.render import formats, render
from console.routing import Pages

from gatewayd import keys
from gatewayd.inbound.parts import number_prefixes
from gatewayd.store import console_reads, threads
from gatewayd.store import inbound as inbound_store

pages = Pages()
PAGE = 50


@pages.get("/received", name="received")
async def received(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:100]
    before = cursor_int(request)
    size = page_size(request, PAGE)
    db = request.app[keys.DB]
    # A number in any form ("06 12 34 01 01", "+33 6…", "0033…") finds its sender; words search the text.
    prefixes = number_prefixes(q, request.app[keys.SETTINGS].sending.default_region) if q else ()
    by_sender = [p for p in prefixes if p.startswith("+")]
    fts = threads.fts_query(q) if q and not by_sender else None
    if by_sender:
        async with db.read() as conn:
            page = await console_reads.inbound_from_numbers(conn, by_sender, before_id=before, limit=size)
    elif q and fts is None:
        page = []
    elif fts:
        page = await inbound_store.search(db, fts, limit=size, before_id=before)
    else:
        async with db.read() as conn:
            page = await console_reads.inbound_newest(conn, before_id=before, limit=size)
    return await render(request, "received/list.html", {
        "messages": page, "q": q, "size": size,
        "next_after": encode_cursor(page[-1].id) if len(page) == size else None,
        "paged": before is not None, "unread_total": await threads.unread_total(db),
        "export_period": month_to_date(formats(request).today)})


@pages.get("/received/unread", name="unread")
async def unread(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/discussions?unread=1")

"""Discussions: threads with unread badges and last message; a conversation with a reply box whose
new messages (both directions) and state changes appear without reloading (polling)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from console.forms import actor, decode_cursor, encode_cursor, path_id, text
from console.render import field_errors, formats, fragment, redirect, render, t
from console.routing import Pages

from gatewayd import keys
from gatewayd.problems import Problem
from gatewayd.clock import utc_iso
from gatewayd.errors import InvalidInput, ServiceUnavailable
from gatewayd.inbound.parts import is_dialable, number_prefixes
from gatewayd.inbound.timeline import Item, Position
from gatewayd.store import console_reads, threads
from gatewayd.store.inbound import InboundMessage
from gatewayd.store.messages import MessageRow
from gatewayd.store.threads import Thread

pages = Pages()
THREADS_PAGE = 30
MESSAGES_PAGE = 40


@dataclass(frozen=True)
class Bubble:
    """One message of a conversation as the page shows it."""

    direction: str                 # in | out
    id: int
    at: datetime
    text: str
    state: str | None = None
    error: str | None = None
    source: str | None = None
    missing_parts: tuple[int, ...] = ()
    undecodable: str | None = None
    intent: str | None = None
    reason: Problem | None = None  # `error` as a stable code (the page words it)


def from_inbound(m: InboundMessage) -> Bubble:
    return Bubble("in", m.id, m.received_at, m.text, missing_parts=m.parts_missing, undecodable=m.undecodable,
                  intent=m.intent)


def from_outbound(m: MessageRow) -> Bubble:
    return Bubble("out", m.id, m.created_at, m.text, state=m.state, error=m.error, source=m.source, reason=m.reason)


def from_item(item: Item) -> Bubble:
    b = item.body
    if item.direction == "in":
        return Bubble("in", item.id, item.at, b["text"], missing_parts=tuple(b.get("missing_parts", ())),
                      undecodable=b.get("undecodable"), intent=b.get("intent"))
    return Bubble("out", item.id, item.at, b["text"], state=b.get("state"), error=b.get("error"),
                  source=b.get("source"))


async def _thread_list(request: web.Request, *, q: str, unread: bool,
                       before: tuple[str, int] | None) -> tuple[list[Thread], str | None]:
    svc = request.app[keys.INBOUND]
    prefixes = number_prefixes(q, svc.region) if q else ()
    fts = threads.fts_query(q) if q else None
    if q and not prefixes and not fts:
        return [], None
    page = await threads.listing(svc.db, limit=THREADS_PAGE, before=before, unread_only=unread,
                                 number_prefix=prefixes, text_query=fts)
    cursor = encode_cursor(utc_iso(page[-1].last_at), page[-1].id) if len(page) == THREADS_PAGE else None
    return page, cursor


@dataclass(frozen=True)
class Correspondent:
    """Who the thread is with: the contact (if any) and whether the number has opted out."""

    contact_id: int | None
    name: str | None
    opted_out: bool


async def _correspondent(request: web.Request, number: str) -> Correspondent:
    from gatewayd.store import optouts

    contact = None
    async with request.app[keys.DB].read() as conn:
        if hasattr(keys, "CONTACTS"):
            from gatewayd.store import contacts as contact_store

            contact = await contact_store.by_mobile(conn, number)
        opted_out = await optouts.is_opted_out(conn, number)
    name = " ".join(p for p in (contact.first_name, contact.last_name) if p) if contact else None
    return Correspondent(contact.id if contact else None, name or None, opted_out)


async def _names(request: web.Request, numbers: list[str]) -> dict[str, str]:
    """Contact names for the numbers shown (when contacts exist in this build)."""
    if not numbers:
        return {}
    from gatewayd.store import contacts as contact_store

    out = {}
    async with request.app[keys.DB].read() as conn:
        for number in numbers:
            contact = await contact_store.by_mobile(conn, number)
            if contact is not None:
                name = " ".join(p for p in (contact.first_name, contact.last_name) if p)
                if name:
                    out[number] = name
    return out


@pages.get("/discussions", name="discussions")
async def discussions(request: web.Request) -> web.Response:
    q = request.query.get("q", "").strip()[:100]
    unread = request.query.get("unread") == "1"
    cursor = decode_cursor(request)
    before = (cursor[0], int(cursor[1])) if cursor and len(cursor) == 2 and cursor[1].isdigit() else None
    page, next_after = await _thread_list(request, q=q, unread=unread, before=before)
    live = not q and before is None
    return await render(request, "discussions/list.html", {
        "threads": page, "names": await _names(request, [th.number for th in page]), "q": q, "unread": unread,
        "next_after": next_after, "paged": before is not None, "live": live,
        "unread_total": await threads.unread_total(request.app[keys.DB])})


@pages.get("/discussions/unread.json", name="unread_count", json=True)
async def unread_count(request: web.Request) -> web.Response:
    """The unread badge's figure, polled by every page (menu, dashboard, title)."""
    total = await threads.unread_total(request.app[keys.DB])
    return web.json_response({"unread": total, "label": formats(request).integer(total)})


@pages.get("/discussions/live", name="discussions_live", json=True)
async def discussions_live(request: web.Request) -> web.Response:
    unread = request.query.get("unread") == "1"
    page, _ = await _thread_list(request, q="", unread=unread, before=None)
    html = fragment(request, "discussions/_threads.html", {
        "threads": page, "names": await _names(request, [th.number for th in page])})
    return web.json_response({"html": html, "unread_total": await threads.unread_total(request.app[keys.DB])})


def _position(request: web.Request) -> Position:
    parts = decode_cursor(request, "older")
    if not parts or len(parts) != 5:
        return Position()
    in_at, in_id, out_id, in_done, out_done = parts
    return Position((in_at, int(in_id)) if in_at and in_id.isdigit() else None,
                    int(out_id) if out_id.isdigit() else None, in_done == "1", out_done == "1")


def _live_cursor(bubbles: list[Bubble], previous: tuple[int, int] = (0, 0)) -> str:
    last_in = max([b.id for b in bubbles if b.direction == "in"], default=previous[0])
    last_out = max([b.id for b in bubbles if b.direction == "out"], default=previous[1])
    return f"{last_in}.{last_out}"


@pages.get("/discussions/{id:\\d+}", name="discussion")
async def discussion(request: web.Request) -> web.Response:
    svc = request.app[keys.INBOUND]
    thread_id = path_id(request)
    thread = await svc.thread(thread_id)
    position = _position(request)
    items, next_position = await svc.conversation(thread_id, limit=MESSAGES_PAGE, position=position)
    bubbles = [from_item(i) for i in reversed(items)]          # oldest first on the page
    older = None
    if next_position is not None:
        older = encode_cursor(next_position.inbound[0] if next_position.inbound else "",
                              next_position.inbound[1] if next_position.inbound else "",
                              next_position.outbound or "", int(next_position.inbound_done),
                              int(next_position.outbound_done))
    if thread.unread:
        thread = await svc.mark(thread_id, read=True)
    return await render(request, "discussions/thread.html", {
        "thread": thread, "bubbles": bubbles, "older": older, "errors": {}, "reply": "",
        "names": await _names(request, [thread.number]), "first_page": position == Position(),
        "who": await _correspondent(request, thread.number),
        "after": _live_cursor(bubbles), "dialable": is_dialable(thread.number),
        "max_segments": request.app[keys.SETTINGS].sending.max_segments})


@pages.get("/discussions/{id:\\d+}/live", name="discussion_live", json=True)
async def discussion_live(request: web.Request) -> web.Response:
    """Messages of the thread after the page's newest ones (both directions), as bubbles to append."""
    svc = request.app[keys.INBOUND]
    thread_id = path_id(request)
    thread = await svc.thread(thread_id)
    raw = request.query.get("after", "0.0")
    in_after, _, out_after = raw.partition(".")
    previous = (int(in_after) if in_after.isdigit() else 0, int(out_after) if out_after.isdigit() else 0)
    async with request.app[keys.DB].read() as conn:
        ins = await console_reads.inbound_after(conn, thread_id, previous[0])
        outs = await console_reads.outbound_after(conn, thread, previous[1])
    bubbles = sorted([from_inbound(m) for m in ins] + [from_outbound(m) for m in outs], key=lambda b: (b.at, b.id))
    if ins:
        await svc.mark(thread_id, read=True)   # the conversation is open: what arrives is read
    html = fragment(request, "discussions/_bubbles.html", {"bubbles": bubbles}) if bubbles else ""
    return web.json_response({"html": html, "after": _live_cursor(bubbles, previous)})


@pages.post("/discussions/{id:\\d+}/reply", role="operator", name="discussion_reply")
async def reply(request: web.Request) -> web.StreamResponse:
    svc = request.app[keys.INBOUND]
    thread_id = path_id(request)
    form = await request.post()
    body = text(form, "text", 10_000)
    try:
        if not body.strip():
            raise InvalidInput("text", t(request, "sms.text_required"))
        await svc.reply(thread_id, body, actor(request), source="reply")
    except (InvalidInput, ServiceUnavailable) as exc:
        thread = await svc.thread(thread_id)
        items, _ = await svc.conversation(thread_id, limit=MESSAGES_PAGE)
        bubbles = [from_item(i) for i in reversed(items)]
        return await render(request, "discussions/thread.html", {
            "thread": thread, "bubbles": bubbles, "older": None, "errors": field_errors(exc, request), "reply": body,
            "names": await _names(request, [thread.number]), "first_page": True, "after": _live_cursor(bubbles),
            "who": await _correspondent(request, thread.number),
            "dialable": is_dialable(thread.number),
            "max_segments": request.app[keys.SETTINGS].sending.max_segments}, status=exc.status)
    raise redirect(request, f"/discussions/{thread_id}")


@pages.post("/discussions/{id:\\d+}/unread", role="operator", name="discussion_unread")
async def mark_unread(request: web.Request) -> web.StreamResponse:
    await request.app[keys.INBOUND].mark(path_id(request), read=False)
    raise redirect(request, "/discussions")


"""/api/v1/threads: conversations (unread counts, last message), their messages, read/unread, reply."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.inbound import (
    MAX_LIMIT,
    bool_arg,
    decode_cursor,
    encode_cursor,
    limit_arg,
    path_id,
    service,
)
from gatewayd.clock import utc_iso
from gatewayd.errors import InvalidInput
from gatewayd.inbound.parts import number_prefixes
from gatewayd.inbound.shapes import thread_json
from gatewayd.inbound.timeline import Position
from gatewayd.store import threads

routes = web.RouteTableDef()


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


@routes.get("/api/v1/threads")
async def list_threads(request: web.Request) -> web.Response:
    """Newest activity first; ?unread=true, ?modem=, ?q= (number fragment, sender name or words of
    a received message — word searches list threads by their newest matching message)."""
    await require_scope(request, "read")
    svc = service(request)
    limit = limit_arg(request, 50)
    unread_only, line = bool(bool_arg(request, "unread")), request.query.get("modem") or None
    q = (request.query.get("q") or "").strip()
    if len(q) > 100:
        raise InvalidInput("q", "at most 100 characters")
    position = decode_cursor(request, 2)
    prefixes = number_prefixes(q, svc.region) if q else ()
    if q and not (prefixes and prefixes[0].startswith("+")):
        return await _word_search(request, q, prefixes, limit, unread_only, line, position)
    before = None
    if position is not None:
        if not (isinstance(position[0], str) and isinstance(position[1], int)):
            raise InvalidInput("cursor", "not a cursor returned by this API")
        before = (position[0], position[1])
    page = await threads.listing(svc.db, limit=limit, before=before, unread_only=unread_only,
                                 number_prefix=prefixes, line=line)
    cursor = encode_cursor(utc_iso(page[-1].last_at), page[-1].id) if len(page) == limit else None
    return web.json_response({"threads": [thread_json(t) for t in page], "next_cursor": cursor,
                              "unread_total": await threads.unread_total(svc.db)})


async def _word_search(request: web.Request, q: str, names: tuple[str, ...], limit: int, unread_only: bool,
                       line: str | None, position: list[object] | None) -> web.Response:
    svc = service(request)
    before = None
    if position is not None:
        if position[0] != "words" or not isinstance(position[1], int):
            raise InvalidInput("cursor", "not a cursor returned by this API")
        before = position[1]
    fts = threads.fts_query(q)
    found = await threads.search_text(svc.db, fts, limit=limit, before=before, unread_only=unread_only,
                                      line=line) if fts else []
    page = [t for t, _ in found]
    if before is None and names:
        # Senders that are names ("MaBanque") match by their start; they lead the first page.
        named = await threads.listing(svc.db, limit=limit, unread_only=unread_only, number_prefix=names, line=line)
        ids = {t.id for t in named}
        page = named + [t for t in page if t.id not in ids]
    cursor = encode_cursor("words", found[-1][1]) if len(found) == limit else None
    return web.json_response({"threads": [thread_json(t) for t in page], "next_cursor": cursor,
                              "unread_total": await threads.unread_total(svc.db)})


@routes.get(r"/api/v1/threads/{id:\d+}")
async def get_thread(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(thread_json(await service(request).thread(path_id(request))))


@routes.get(r"/api/v1/threads/{id:\d+}/messages")
async def thread_messages(request: web.Request) -> web.Response:
    """Both directions, newest first: inbound (`from`) and outbound (`to`, `state`) messages."""
    await require_scope(request, "read")
    limit = limit_arg(request, 50)
    raw = decode_cursor(request, 5)
    position = Position()
    if raw is not None:
        try:
            in_at, in_id, out_id, in_done, out_done = raw
            position = Position((str(in_at), int(in_id)) if in_at is not None else None,
                                int(out_id) if out_id is not None else None, bool(in_done), bool(out_done))
        except (TypeError, ValueError):
            raise InvalidInput("cursor", "not a cursor returned by this API") from None
    items, following = await service(request).conversation(path_id(request), limit=limit, position=position)
    cursor = None
    if following is not None:
        in_at, in_id = following.inbound if following.inbound else (None, None)
        cursor = encode_cursor(in_at, in_id, following.outbound, following.inbound_done, following.outbound_done)
    return web.json_response({"messages": [i.body for i in items], "next_cursor": cursor})


@routes.post(r"/api/v1/threads/{id:\d+}/read")
async def mark_read(request: web.Request) -> web.Response:
    await require_scope(request, "send")  # it changes what everyone sees: not for a read-only key
    return web.json_response(thread_json(await service(request).mark(path_id(request), read=True)))


@routes.post(r"/api/v1/threads/{id:\d+}/unread")
async def mark_unread(request: web.Request) -> web.Response:
    await require_scope(request, "send")  # it changes what everyone sees: not for a read-only key
    return web.json_response(thread_json(await service(request).mark(path_id(request), read=False)))


@routes.post(r"/api/v1/threads/{id:\d+}/reply")
async def reply(request: web.Request) -> web.Response:
    """Queue a reply to the thread's number on the thread's line; 202 like POST /messages."""
    key = await require_scope(request, "send")
    body = await parse_body(request, ReplyBody)
    row = await service(request).reply(path_id(request), body.text, f"api key {key.name}", source="reply")
    return web.json_response({"messages": [{"id": row.id, "to": row.to, "state": row.state}]}, status=202)


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
         {"name": "cursor", "in": "query", "schema": {"type": "string"}}]
OPENAPI: dict[str, Any] = {
    "/api/v1/threads": {"get": {
        "summary": "Conversations, newest activity first", "tags": ["threads"], "security": [{"bearer": ["read"]}],
        "parameters": [
            {"name": "unread", "in": "query", "schema": {"type": "boolean"}},
            {"name": "modem", "in": "query", "schema": {"type": "string"}},
            {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 100},
             "description": "number fragment (06 12…, +336…) or words of a received message"},
            *_PAGE],
        "responses": {"200": S.json_content(S.page("threads", S.ref("Thread"), unread_total=S.INTEGER))},
    }},
    "/api/v1/threads/{id}": {"get": {
        "summary": "One conversation", "tags": ["threads"], "security": [{"bearer": ["read"]}], "parameters": [_ID],
        "responses": {"200": S.json_content(S.ref("Thread")), "404": {"description": "no such thread"}},
    }},
    "/api/v1/threads/{id}/messages": {"get": {
        "summary": "A conversation's messages in both directions, newest first", "tags": ["threads"],
        "security": [{"bearer": ["read"]}], "parameters": [_ID, *_PAGE],
        "responses": {"200": S.json_content(S.page("messages", S.ref("TimelineItem")))},
    }},
    "/api/v1/threads/{id}/read": {"post": {
        "summary": "Mark a conversation read", "tags": ["threads"], "security": [{"bearer": ["send"]}],
        "parameters": [_ID], "responses": {"200": S.json_content(S.ref("Thread"))},
    }},
    "/api/v1/threads/{id}/unread": {"post": {
        "summary": "Mark a conversation unread", "tags": ["threads"], "security": [{"bearer": ["send"]}],
        "parameters": [_ID], "responses": {"200": S.json_content(S.ref("Thread"))},
    }},
    "/api/v1/threads/{id}/reply": {"post": {
        "summary": "Reply on the conversation's line", "tags": ["threads"], "security": [{"bearer": ["send"]}],
        "parameters": [_ID],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text"], "additionalProperties": False,
            "properties": {"text": {"type": "string", "minLength": 1}}}}}},
        "responses": {"202": S.json_content(S.obj({"messages": {"type": "array", "items": S.ref("AcceptedMessage")}})),
                      "422": {"description": "empty text, or a sender name that cannot be answered"}},
    }},
}

"""/api/v1/inbound: received messages; also the query helpers the other inbound API modules share."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from aiohttp import web

from gatewayd import keys
from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.clock import utc_iso
from gatewayd.errors import InvalidInput, NotFound, ServiceUnavailable
from gatewayd.inbound.service import InboundService
from gatewayd.inbound.shapes import message_json
from gatewayd.phone import InvalidNumber, normalise
from gatewayd.store import inbound

routes = web.RouteTableDef()
MAX_LIMIT = 500


# -- shared helpers -------------------------------------------------------------------------------

def service(request: web.Request) -> InboundService:
    found = request.app.get(keys.INBOUND)
    if found is None:
        raise ServiceUnavailable("the inbound service is not running")
    return found


def limit_arg(request: web.Request, default: int = 100) -> int:
    raw = request.query.get("limit")
    try:
        limit = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise InvalidInput("limit", "must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"must be between 1 and {MAX_LIMIT}")
    return limit


def encode_cursor(*position: Any) -> str:
    """An opaque cursor for a keyset position."""
    raw = json.dumps(["i1", *position], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(request: web.Request, arity: int) -> list[Any] | None:
    """The position inside ?cursor= (`arity` values), None without one; 422 naming `cursor` if forged."""
    text = request.query.get("cursor")
    if not text:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        if not isinstance(data, list) or data[:1] != ["i1"] or len(data) != arity + 1:
            raise ValueError
        if any(isinstance(v, int) and abs(v) > 2**63 - 1 for v in data):  # forged: SQLite could not bind it
            raise ValueError
        return data[1:]
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise InvalidInput("cursor", "not a cursor returned by this API") from None


def int_cursor(request: web.Request) -> int | None:
    position = decode_cursor(request, 1)
    if position is None:
        return None
    if not isinstance(position[0], int):
        raise InvalidInput("cursor", "not a cursor returned by this API")
    return position[0]


def time_arg(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InvalidInput(name, "must be an RFC 3339 time such as 2026-03-02T10:00:00Z") from None
    if when.tzinfo is None:
        raise InvalidInput(name, "needs a time zone offset (Z or +01:00)")
    return when


def sender_arg(request: web.Request, name: str = "from") -> str | None:
    """?from= as E.164, written in any national or international form; 422 naming it otherwise."""
    raw = (request.query.get(name) or "").strip()
    if not raw:
        return None
    try:
        return normalise(raw[:40], service(request).region)
    except InvalidNumber as exc:
        raise InvalidInput(problems=[exc.problem.at(name)]) from None


def bool_arg(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    if raw.lower() in ("1", "true", "yes"):
        return True
    if raw.lower() in ("0", "false", "no"):
        return False
    raise InvalidInput(name, "must be true or false")


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise NotFound(f"no such {name}") from None
    if abs(value) > 2**63 - 1:  # no row has it, and SQLite could not even compare it
        raise NotFound(f"no such {name}")
    return value


# -- routes ---------------------------------------------------------------------------------------

@routes.get("/api/v1/inbound")
async def list_inbound(request: web.Request) -> web.Response:
    """Received messages oldest first, from ?since= (RFC 3339) and/or after the cursor."""
    await require_scope(request, "read")
    limit = limit_arg(request)
    since = time_arg(request, "since")
    after = int_cursor(request)
    page = await inbound.since(service(request).db, after_id=after or 0, received_from=since, limit=limit,
                               sender=sender_arg(request))
    # The end rule of every list: next_cursor is null once a page is not full, so paging until null
    # ends. Following new arrivals is separate: poll_cursor always points after the last message
    # seen (even on an empty page); asking again later with ?cursor=<poll_cursor> gives only what
    # arrived since.
    last = page[-1].id if page else after
    return web.json_response({"messages": [message_json(m) for m in page],
                              "next_cursor": encode_cursor(page[-1].id) if len(page) == limit else None,
                              "poll_cursor": encode_cursor(last) if last is not None else None})


@routes.get(r"/api/v1/inbound/{id:\d+}")
async def get_inbound(request: web.Request) -> web.Response:
    """One received message with its raw parts (PDU hex as read, for audit)."""
    await require_scope(request, "read")
    svc = service(request)
    message = await inbound.get(svc.db, path_id(request))
    if message is None:
        raise NotFound(f"no inbound message {request.match_info['id']}")
    async with svc.db.read() as conn:
        parts = await inbound.parts_of(conn, message.id)
    body = message_json(message)
    body["raw_parts"] = [{"sequence": p.concat_seq, "pdu": p.pdu, "undecodable": p.undecodable,
                          "received_at": utc_iso(p.received_at)} for p in parts]
    return web.json_response(body)


OPENAPI: dict[str, Any] = {
    "/api/v1/inbound": {"get": {
        "summary": "Received SMS, oldest first (poll with the returned cursor)", "tags": ["inbound"],
        "security": [{"bearer": ["read"]}],
        "parameters": [
            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"},
             "description": "only messages received at or after this time"},
            {"name": "from", "in": "query", "schema": {"type": "string", "maxLength": 40},
             "description": "only messages from this number, in any national or international form"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {"200": S.json_content(
            S.page("messages", S.ref("InboundMessage"), poll_cursor=S.null(S.STRING)),
            "`next_cursor` is null at the end of the list; `poll_cursor`, given as `cursor` later, returns only"
            " messages received since")},
    }},
    "/api/v1/inbound/{id}": {"get": {
        "summary": "One received SMS with its raw parts", "tags": ["inbound"], "security": [{"bearer": ["read"]}],
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": S.json_content(S.ref("InboundMessage"), "the message and `raw_parts`"),
                      "404": {"description": "no such message"}},
    }},
}

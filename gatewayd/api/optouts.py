"""/api/v1/opt-outs: the current list, adding and removing by hand, and the append-only history."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd.api import schemas as S
from gatewayd.api.auth import authenticate, require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.inbound import MAX_LIMIT, decode_cursor, encode_cursor, int_cursor, limit_arg, service
from gatewayd.clock import utc_iso
from gatewayd.errors import FieldError, InvalidInput, field_error
from gatewayd.inbound.shapes import optout_event_json, optout_json
from gatewayd.phone import InvalidNumber, normalise

routes = web.RouteTableDef()
MAX_BATCH = 10_000


class OptOutBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: str = Field(min_length=1, max_length=40)
    note: str | None = Field(None, max_length=500)


class RemoveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(None, max_length=500)


@routes.get("/api/v1/opt-outs")
async def list_optouts(request: web.Request) -> web.Response:
    """Numbers opted out now, by number."""
    await require_scope(request, "read")
    limit = limit_arg(request)
    position = decode_cursor(request, 1)
    after = None
    if position is not None:
        if not isinstance(position[0], str):
            raise InvalidInput("cursor", "not a cursor returned by this API")
        after = position[0]
    page = await service(request).optouts.current(limit=limit, after_number=after)
    cursor = encode_cursor(page[-1].number) if len(page) == limit else None
    return web.json_response({"opt_outs": [optout_json(o) for o in page], "next_cursor": cursor})


@routes.post("/api/v1/opt-outs")
async def add_optout(request: web.Request) -> web.Response:
    """Opt a number out (201; 200 when it already was). Pending marketing to it is blocked at once."""
    key = await require_scope(request, "send")
    body = await parse_body(request, OptOutBody)
    svc = service(request)
    change = await svc.optouts.add(body.number, source="api", actor=f"api:{key.name}", note=body.note)
    return web.json_response({"number": change.number, "opted_out": True, "created": change.changed,
                              "blocked_messages": change.blocked, "source": "api",
                              "created_at": utc_iso(svc.clock.now()) if change.changed else None},
                             status=201 if change.changed else 200)


class BatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    numbers: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    note: str = Field(min_length=1, max_length=500)


@routes.post("/api/v1/opt-outs/batch")
async def add_optouts(request: web.Request) -> web.Response:
    """Opt many numbers out at once (a STOP list synchronised from another system). Every number
    is checked first: one invalid number refuses the whole request (422 naming each, up to 20),
    nothing stored."""
    key = await require_scope(request, "send")
    body = await parse_body(request, BatchBody)
    svc = service(request)
    numbers: list[str] = []
    errors: list[FieldError] = []
    for i, raw in enumerate(body.numbers):
        try:
            numbers.append(normalise(raw, svc.optouts.region))
        except InvalidNumber as exc:
            errors.append(field_error(exc.problem, f"numbers[{i}]"))
    if errors:
        raise InvalidInput.of(errors[:20])
    unique = list(dict.fromkeys(numbers))
    added, already = await svc.optouts.add_many(unique, source="api", actor=f"api:{key.name}", note=body.note)
    return web.json_response({"added": added, "already_opted_out": already,
                              "duplicates": len(numbers) - len(unique)})


@routes.get("/api/v1/opt-outs/history")
async def optout_history(request: web.Request) -> web.Response:
    """Every opt-out and opt-in ever recorded, newest first (?number= for one number)."""
    await require_scope(request, "read")
    limit = limit_arg(request)
    page = await service(request).optouts.history(number=request.query.get("number") or None, limit=limit,
                                                  before_id=int_cursor(request))
    cursor = encode_cursor(page[-1].id) if len(page) == limit else None
    return web.json_response({"events": [optout_event_json(e) for e in page], "next_cursor": cursor})


@routes.delete("/api/v1/opt-outs/{number}")
async def remove_optout(request: web.Request) -> web.Response:
    """Opt a number back in (admin: re-subscribing someone needs a reason; the history keeps it)."""
    key = await authenticate(request)
    note = None
    if request.can_read_body and (await request.read()).strip():
        note = (await parse_body(request, RemoveBody)).note
    change = await service(request).optouts.remove(request.match_info["number"], source="api",
                                                   actor=f"api:{key.name}", note=note,
                                                   admin="admin" in key.scopes)
    return web.json_response({"number": change.number, "opted_out": False, "event_id": change.event_id})


_PAGE = [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
         {"name": "cursor", "in": "query", "schema": {"type": "string"}}]
OPENAPI: dict[str, Any] = {
    "/api/v1/opt-outs": {
        "get": {"summary": "Numbers opted out now", "tags": ["opt-outs"], "security": [{"bearer": ["read"]}],
                "parameters": _PAGE,
                "responses": {"200": S.json_content(S.page("opt_outs", S.ref("OptOut")))}},
        "post": {"summary": "Opt a number out (blocks pending marketing at once)", "tags": ["opt-outs"],
                 "security": [{"bearer": ["send"]}],
                 "requestBody": {"required": True, "content": {"application/json": {"schema": {
                     "type": "object", "required": ["number"], "additionalProperties": False,
                     "properties": {"number": {"type": "string"}, "note": {"type": "string"}}}}}},
                 "responses": {"201": S.json_content(S.ref("OptOutAdded"), "opted out now"),
                               "200": S.json_content(S.ref("OptOutAdded"), "already opted out"),
                               "422": {"description": "not a valid number"}}},
    },
    "/api/v1/opt-outs/batch": {"post": {
        "summary": "Opt many numbers out at once (all checked first; one invalid number stores nothing)",
        "tags": ["opt-outs"], "security": [{"bearer": ["send"]}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["numbers", "note"], "additionalProperties": False,
            "properties": {"numbers": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH,
                                       "items": {"type": "string"}},
                           "note": {"type": "string", "minLength": 1, "maxLength": 500,
                                    "description": "where the list comes from (kept in the history)"}}}}}},
        "responses": {"200": S.json_content(S.ref("OptOutBatch")),
                      "422": {"description": "an invalid number (each named as numbers[i]) or a missing note"}},
    }},
    "/api/v1/opt-outs/history": {"get": {
        "summary": "Opt-out/opt-in history, newest first", "tags": ["opt-outs"], "security": [{"bearer": ["read"]}],
        "parameters": [{"name": "number", "in": "query", "schema": {"type": "string"}}, *_PAGE],
        "responses": {"200": S.json_content(S.page("events", S.ref("OptOutEvent")))},
    }},
    "/api/v1/opt-outs/{number}": {"delete": {
        "summary": "Opt a number back in (kept in the history)", "tags": ["opt-outs"],
        "security": [{"bearer": ["admin"]}],
        "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["note"], "additionalProperties": False,
            "properties": {"note": {"type": "string", "minLength": 1, "maxLength": 500,
                                    "description": "why (kept in the history)"}}}}}},
        "responses": {"200": S.json_content(S.ref("OptOutRemoved"), "opted back in"), "403": {"description": "not an admin key"},
                      "404": {"description": "not opted out"}, "422": {"description": "no note"}},
    }},
}

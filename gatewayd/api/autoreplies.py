"""/api/v1/auto-replies: keyword → reply rules (admin to change) and the log of automatic answers."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.inbound import MAX_LIMIT, encode_cursor, int_cursor, limit_arg, path_id, service
from gatewayd.inbound.shapes import auto_send_json, rule_json
from gatewayd.store import autoreplies

routes = web.RouteTableDef()


class RuleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keyword: str = Field(min_length=1, max_length=40)
    reply: str = Field(min_length=1, max_length=2000)
    modem: str | None = Field(None, min_length=1, max_length=32, description="only on this line")
    enabled: bool = True


@routes.get("/api/v1/auto-replies")
async def list_rules(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    rules = await service(request).rules.all()
    return web.json_response({"auto_replies": [rule_json(r) for r in rules], "next_cursor": None})


@routes.post("/api/v1/auto-replies")
async def create_rule(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    body = await parse_body(request, RuleBody)
    rule = await service(request).rules.create(keyword=body.keyword, reply=body.reply, line=body.modem,
                                               enabled=body.enabled)
    return web.json_response(rule_json(rule), status=201)


@routes.get("/api/v1/auto-replies/log")
async def answers_log(request: web.Request) -> web.Response:
    """Every automatic answer decided (auto-replies, confirmations, missed-call SMS), newest first,
    with `held_back` saying why one was not sent (e.g. the anti-loop cap)."""
    await require_scope(request, "read")
    limit = limit_arg(request)
    page = await autoreplies.sends(service(request).db, number=request.query.get("number") or None, limit=limit,
                                   before_id=int_cursor(request))
    cursor = encode_cursor(page[-1].id) if len(page) == limit else None
    return web.json_response({"answers": [auto_send_json(s) for s in page], "next_cursor": cursor})


@routes.get(r"/api/v1/auto-replies/{id:\d+}")
async def get_rule(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(rule_json(await service(request).rules.get(path_id(request))))


@routes.put(r"/api/v1/auto-replies/{id:\d+}")
async def update_rule(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    body = await parse_body(request, RuleBody)
    rule = await service(request).rules.update(path_id(request), keyword=body.keyword, reply=body.reply,
                                               line=body.modem, enabled=body.enabled)
    return web.json_response(rule_json(rule))


@routes.delete(r"/api/v1/auto-replies/{id:\d+}")
async def delete_rule(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    await service(request).rules.delete(path_id(request))
    return web.Response(status=204)


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["keyword", "reply"], "additionalProperties": False,
    "properties": {"keyword": {"type": "string", "maxLength": 40}, "reply": {"type": "string"},
                   "modem": {"type": ["string", "null"]}, "enabled": {"type": "boolean"}}}}}}
OPENAPI: dict[str, Any] = {
    "/api/v1/auto-replies": {
        "get": {"summary": "Keyword auto-reply rules", "tags": ["auto-replies"], "security": [{"bearer": ["read"]}],
                "responses": {"200": S.json_content(S.page("auto_replies", S.ref("AutoReply")))}},
        "post": {"summary": "Add a rule (a message that essentially is the keyword gets the reply)",
                 "tags": ["auto-replies"], "security": [{"bearer": ["admin"]}], "requestBody": _BODY,
                 "responses": {"201": S.json_content(S.ref("AutoReply")), "409": {"description": "keyword already has a rule"},
                               "422": {"description": "unusable keyword (or a STOP/START word), reply too long"}}},
    },
    "/api/v1/auto-replies/log": {"get": {
        "summary": "Automatic answers decided, newest first (held_back says why one was not sent)",
        "tags": ["auto-replies"], "security": [{"bearer": ["read"]}],
        "parameters": [{"name": "number", "in": "query", "schema": {"type": "string"}},
                       {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
                       {"name": "cursor", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": S.json_content(S.page("answers", S.ref("AutoAnswer")))},
    }},
    "/api/v1/auto-replies/{id}": {
        "get": {"summary": "One rule", "tags": ["auto-replies"], "security": [{"bearer": ["read"]}],
                "parameters": [_ID], "responses": {"200": S.json_content(S.ref("AutoReply")), "404": {"description": "no such rule"}}},
        "put": {"summary": "Replace a rule", "tags": ["auto-replies"], "security": [{"bearer": ["admin"]}],
                "parameters": [_ID], "requestBody": _BODY,
                "responses": {"200": S.json_content(S.ref("AutoReply")), "404": {"description": "no such rule"},
                              "409": {"description": "another rule has this keyword"}}},
        "delete": {"summary": "Delete a rule", "tags": ["auto-replies"], "security": [{"bearer": ["admin"]}],
                   "parameters": [_ID], "responses": {"204": {"description": "deleted"}, "404": {"description": "no such rule"}}},
    },
}

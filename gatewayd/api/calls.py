"""/api/v1/calls: the incoming call log."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.api.inbound import MAX_LIMIT, encode_cursor, int_cursor, limit_arg, service
from gatewayd.errors import InvalidInput
from gatewayd.inbound.shapes import call_json
from gatewayd.phone import InvalidNumber, normalise

routes = web.RouteTableDef()


@routes.get("/api/v1/calls")
async def list_calls(request: web.Request) -> web.Response:
    """Calls newest first; ?from= one caller, ?modem= one line."""
    await require_scope(request, "read")
    svc = service(request)
    limit = limit_arg(request)
    number = request.query.get("from") or None
    if number is not None:
        try:
            number = normalise(number, svc.region)
        except InvalidNumber as exc:
            raise InvalidInput(problems=[exc.problem.at("from")]) from None
    page = await svc.calls.listing(limit=limit, before_id=int_cursor(request), number=number,
                                   line=request.query.get("modem") or None)
    cursor = encode_cursor(page[-1].id) if len(page) == limit else None
    return web.json_response({"calls": [call_json(c) for c in page], "next_cursor": cursor})


OPENAPI: dict[str, Any] = {
    "/api/v1/calls": {"get": {
        "summary": "Incoming calls, newest first", "tags": ["calls"], "security": [{"bearer": ["read"]}],
        "parameters": [
            {"name": "from", "in": "query", "schema": {"type": "string"}, "description": "caller's number"},
            {"name": "modem", "in": "query", "schema": {"type": "string"}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}},
            {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        ],
        "responses": {"200": S.json_content(S.page("calls", S.ref("Call")))},
    }},
}

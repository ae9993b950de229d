"""/api/v1/templates: title, line, text with {variables}; unknown variables reported on save."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.contacts import TEMPLATE_SCHEMA, next_cursor, page_args, page_schema, path_id
from gatewayd.api.openapi import describe
from gatewayd.campaigns.service import check_template_text
from gatewayd.campaigns.templates import compile_template
from gatewayd.clock import utc_iso
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.modem.segments import count_segments
from gatewayd.store import contacts as contact_store
from gatewayd.store import templates as store
from gatewayd.store.templates import Template

routes = web.RouteTableDef()


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    line: str | None = Field(None, max_length=32)
    text: str = Field(min_length=1, max_length=5000)


def template_json(t: Template, unknown: list[str] | None = None) -> dict[str, Any]:
    info = count_segments(t.text)
    out: dict[str, Any] = {
        "id": t.id,
        "title": t.title,
        "line": t.line,
        "text": t.text,
        "variables": list(compile_template(t.text).variables),
        "encoding": info.encoding,
        "segments": info.segments,
        "created_at": utc_iso(t.created_at),
        "updated_at": utc_iso(t.updated_at),
    }
    if unknown is not None:
        out["unknown_variables"] = unknown
    return out


async def _checked(request: web.Request, body: TemplateBody) -> list[str]:
    names = request.app[keys.POOL].names()
    if body.line is not None and body.line not in names:
        raise InvalidInput("line", code="line.unknown", line=body.line, known=", ".join(names) or "none")
    async with request.app[keys.DB].read() as conn:
        known = await contact_store.field_names(conn)
    return check_template_text(body.text, known)


@routes.get("/api/v1/templates")
@describe(
    "List templates",
    tag="templates",
    scope="read",
    responses={200: page_schema("templates", TEMPLATE_SCHEMA)},
    query={"limit": "1-500", "cursor": "next_cursor of the previous page"},
)
async def list_templates(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request)
    page = await store.list_page(request.app[keys.DB], after_id=after or 0, limit=limit)
    return web.json_response(
        {"templates": [template_json(t) for t in page], "next_cursor": next_cursor(page, limit, lambda t: t.id)}
    )


@routes.post("/api/v1/templates")
@describe(
    "Create a template (unknown variables reported)",
    tag="templates",
    scope="send",
    body=TemplateBody,
    responses={201: TEMPLATE_SCHEMA, 422: None},
)
async def create_template(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, TemplateBody)
    unknown = await _checked(request, body)
    app = request.app
    tid = await store.insert(
        app[keys.DB], title=body.title.strip(), line=body.line, text=body.text, now=app[keys.CLOCK].now()
    )
    template = await store.get(app[keys.DB], tid)
    assert template is not None
    return web.json_response(template_json(template, unknown), status=201)


@routes.get("/api/v1/templates/{id}")
@describe("One template", tag="templates", scope="read", responses={200: TEMPLATE_SCHEMA, 404: None})
async def get_template(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    template = await store.get(request.app[keys.DB], path_id(request))
    if template is None:
        raise NotFound(f"template {request.match_info['id']} does not exist")
    return web.json_response(template_json(template))


@routes.put("/api/v1/templates/{id}")
@describe(
    "Replace a template",
    tag="templates",
    scope="send",
    body=TemplateBody,
    responses={200: TEMPLATE_SCHEMA, 404: None, 422: None},
)
async def update_template(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, TemplateBody)
    unknown = await _checked(request, body)
    app = request.app
    tid = path_id(request)
    if not await store.update(
        app[keys.DB], tid, title=body.title.strip(), line=body.line, text=body.text, now=app[keys.CLOCK].now()
    ):
        raise NotFound(f"template {tid} does not exist")
    template = await store.get(app[keys.DB], tid)
    assert template is not None
    return web.json_response(template_json(template, unknown))


@routes.delete("/api/v1/templates/{id}")
@describe(
    "Delete a template no campaign uses", tag="templates", scope="send", responses={204: None, 404: None, 409: None}
)
async def delete_template(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    tid = path_id(request)
    try:
        deleted = await store.delete(request.app[keys.DB], tid)
    except sqlite3.IntegrityError:
        raise Conflict(f"template {tid} is used by a campaign") from None
    if not deleted:
        raise NotFound(f"template {tid} does not exist")
    return web.Response(status=204)

"""/api/v1/templates: title, line, text with {variables}; unknown variables reported on save."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.paging import next_cursor, page_args, page_schema, path_id
from gatewayd.api.schemas import TEMPLATE_SCHEMA
from gatewayd.api.openapi import describe
from gatewayd.campaigns.template_service import TemplateInput
from gatewayd.campaigns.templates import compile_template
from gatewayd.clock import utc_iso
from gatewayd.modem.segments import count_segments
from gatewayd.store import templates as store
from gatewayd.store.templates import Template

routes = web.RouteTableDef()


class TemplateBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    line: str | None = Field(None, max_length=32)
    text: str = Field(min_length=1, max_length=5000)
    transliterate: StrictBool | None = Field(None, description="GSM-7 look-alikes when this template is sent "
                                                         "(null: the site's [sending] transliterate)")
    defaults: dict[str, str] = Field(default_factory=dict, max_length=50,
                                     description="Default value per variable name, used for a recipient "
                                                 "with no value where the text gives no inline {name|default}")

    def to_input(self) -> TemplateInput:
        return TemplateInput(self.title, self.text, self.line, self.transliterate, self.defaults)


def template_json(t: Template, unknown: list[str] | None = None) -> dict[str, Any]:
    info = count_segments(t.text)
    out: dict[str, Any] = {
        "id": t.id,
        "title": t.title,
        "line": t.line,
        "text": t.text,
        "transliterate": t.transliterate,
        "variables": list(compile_template(t.text).variables),
        "defaults": dict(t.defaults),
        "encoding": info.encoding,
        "segments": info.segments,
        "created_at": utc_iso(t.created_at),
        "updated_at": utc_iso(t.updated_at),
    }
    if unknown is not None:
        out["unknown_variables"] = unknown
    return out


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
    template, unknown = await request.app[keys.TEMPLATES].create(body.to_input())
    return web.json_response(template_json(template, unknown), status=201)


@routes.get(r"/api/v1/templates/{id:\d+}")
@describe("One template", tag="templates", scope="read", responses={200: TEMPLATE_SCHEMA, 404: None})
async def get_template(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(template_json(await request.app[keys.TEMPLATES].get(path_id(request))))


@routes.put(r"/api/v1/templates/{id:\d+}")
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
    template, unknown = await request.app[keys.TEMPLATES].update(path_id(request), body.to_input())
    return web.json_response(template_json(template, unknown))


@routes.delete(r"/api/v1/templates/{id:\d+}")
@describe(
    "Delete a template no campaign uses", tag="templates", scope="send", responses={204: None, 404: None, 409: None}
)
async def delete_template(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.TEMPLATES].delete(path_id(request))
    return web.Response(status=204)

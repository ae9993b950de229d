"""Message templates: list, create, edit (with live segment counter), delete."""

from __future__ import annotations

import sqlite3
from typing import Any

from aiohttp import web
from gatewayd.console.forms import cursor_int, encode_cursor, path_id, text
from gatewayd.console.render import field_errors, redirect, render, t
from gatewayd.console.routing import Pages

from gatewayd import keys
from gatewayd.campaigns.service import check_template_text
from gatewayd.errors import InvalidInput, NotFound
from gatewayd.modem.segments import count_segments
from gatewayd.store import contacts as contact_store
from gatewayd.store import templates as store
from gatewayd.store.templates import Template

pages = Pages()
PAGE = 50


async def _check(request: web.Request, title: str, line: str | None, body: str) -> list[str]:
    """Validate like the API does; the unknown variables are returned (shown, not refused)."""
    if not title.strip():
        raise InvalidInput("title", t(request, "templates.title_required"))
    if not body.strip():
        raise InvalidInput("text", t(request, "templates.text_required"))
    names = request.app[keys.POOL].names()
    if line is not None and line not in names:
        raise InvalidInput("line", code="line.unknown", line=line, known=", ".join(names) or "none")
    async with request.app[keys.DB].read() as conn:
        known = await contact_store.field_names(conn)
    return check_template_text(body, known)


@pages.get("/templates", name="templates")
async def template_list(request: web.Request) -> web.Response:
    after = cursor_int(request) or 0
    page = await store.list_page(request.app[keys.DB], after_id=after, limit=PAGE)
    return await render(request, "templates/list.html", {
        "templates": [(tpl, count_segments(tpl.text)) for tpl in page],
        "next_after": encode_cursor(page[-1].id) if len(page) == PAGE else None, "paged": after > 0})


async def _form(request: web.Request, template: Template | None, values: dict[str, Any], errors: dict[str, str],
                unknown: list[str] | None = None, status: int = 200) -> web.Response:
    async with request.app[keys.DB].read() as conn:
        fields = await contact_store.field_names(conn)
    return await render(request, "templates/form.html", {
        "template": template, "values": values, "errors": errors, "unknown": unknown or [],
        "lines": request.app[keys.POOL].names(), "variables": ["first_name", "last_name",
                                                                                    "email", "mobile", *fields],
        "max_segments": request.app[keys.SETTINGS].sending.max_segments}, status=status)


def _posted(form: Any) -> dict[str, Any]:
    return {"title": text(form, "title", 200), "line": text(form, "line", 32) or None, "text": text(form, "text", 5000)}


@pages.get("/templates/new", role="operator", name="template_new")
async def new_template(request: web.Request) -> web.Response:
    return await _form(request, None, {"title": "", "line": None, "text": ""}, {})


@pages.post("/templates/new", role="operator")
async def create_template(request: web.Request) -> web.StreamResponse:
    values = _posted(await request.post())
    try:
        unknown = await _check(request, values["title"], values["line"], values["text"])
    except InvalidInput as exc:
        return await _form(request, None, values, field_errors(exc, request), status=422)
    tid = await store.insert(request.app[keys.DB], title=values["title"].strip(), line=values["line"],
                             text=values["text"], now=request.app[keys.CLOCK].now())
    if unknown:
        template = await store.get(request.app[keys.DB], tid)
        return await _form(request, template, values, {}, unknown)
    raise redirect(request, "/templates", "created")


async def _get(request: web.Request) -> Template:
    template = await store.get(request.app[keys.DB], path_id(request))
    if template is None:
        raise NotFound("no such template")
    return template


@pages.get("/templates/{id:\\d+}", name="template")
async def edit_template(request: web.Request) -> web.Response:
    template = await _get(request)
    return await _form(request, template, {"title": template.title, "line": template.line, "text": template.text}, {})


@pages.post("/templates/{id:\\d+}", role="operator")
async def update_template(request: web.Request) -> web.StreamResponse:
    template = await _get(request)
    values = _posted(await request.post())
    try:
        unknown = await _check(request, values["title"], values["line"], values["text"])
    except InvalidInput as exc:
        return await _form(request, template, values, field_errors(exc, request), status=422)
    await store.update(request.app[keys.DB], template.id, title=values["title"].strip(), line=values["line"],
                       text=values["text"], now=request.app[keys.CLOCK].now())
    if unknown:
        return await _form(request, await _get(request), values, {}, unknown)
    raise redirect(request, "/templates", "saved")


@pages.post("/templates/{id:\\d+}/delete", role="operator", name="template_delete")
async def delete_template(request: web.Request) -> web.StreamResponse:
    template = await _get(request)
    try:
        await store.delete(request.app[keys.DB], template.id)
    except sqlite3.IntegrityError:
        return await _form(request, template, {"title": template.title, "line": template.line, "text": template.text},
                           {"": t(request, "templates.in_use")}, status=409)
    raise redirect(request, "/templates", "deleted")

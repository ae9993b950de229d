"""Message templates: list, create, edit (with live segment counter), delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.forms import checked, cursor_int, encode_cursor, path_id, text
from console.render import field_errors, redirect, render, t
from console.routing import Pages

from gatewayd import keys
from gatewayd.campaigns.template_service import TemplateInput
from gatewayd.campaigns.templates import TemplateSyntaxError, compile_template
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.modem.segments import count_segments
from gatewayd.store import contacts as contact_store
from gatewayd.store import templates as store
from gatewayd.store.templates import Template

pages = Pages()
PAGE = 50


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
    try:  # one default field per variable of the text as shown (a text that does not parse has none)
        used = list(compile_template(values["text"]).variables)
    except TemplateSyntaxError:
        used = []
    return await render(request, "templates/form.html", {
        "template": template, "values": values, "errors": errors, "unknown": unknown or [], "used": used,
        "lines": request.app[keys.POOL].names(), "variables": ["first_name", "last_name",
                                                                                    "email", "mobile", *fields],
        "max_segments": request.app[keys.SETTINGS].sending.max_segments}, status=status)


def _posted(form: Any) -> dict[str, Any]:
    defaults = {key[len("default."):]: text(form, key, 400) for key in form if key.startswith("default.")}
    return {"title": text(form, "title", 200), "line": text(form, "line", 32) or None, "text": text(form, "text", 5000),
            "transliterate": checked(form, "transliterate"), "defaults": defaults}


def _input(values: dict[str, Any]) -> TemplateInput:
    return TemplateInput(values["title"], values["text"], values["line"], values["transliterate"], values["defaults"])


def _values(template: Template, site_default: bool) -> dict[str, Any]:
    switch = site_default if template.transliterate is None else template.transliterate
    return {"title": template.title, "line": template.line, "text": template.text, "transliterate": switch,
            "defaults": dict(template.defaults)}


@pages.get("/templates/new", role="operator", name="template_new")
async def new_template(request: web.Request) -> web.Response:
    return await _form(request, None, {"title": "", "line": None, "text": "", "defaults": {},
                                       "transliterate": request.app[keys.SETTINGS].sending.transliterate}, {})


@pages.post("/templates/new", role="operator")
async def create_template(request: web.Request) -> web.StreamResponse:
    values = _posted(await request.post())
    try:
        template, unknown = await request.app[keys.TEMPLATES].create(_input(values))
    except InvalidInput as exc:
        return await _form(request, None, values, field_errors(exc, request), status=422)
    if unknown:
        return await _form(request, template, values, {}, unknown)
    raise redirect(request, "/templates", "created")


@pages.get("/templates/{id:\\d+}", name="template")
async def edit_template(request: web.Request) -> web.Response:
    template = await request.app[keys.TEMPLATES].get(path_id(request))
    return await _form(request, template, _values(template, request.app[keys.SETTINGS].sending.transliterate), {})


@pages.post("/templates/{id:\\d+}", role="operator")
async def update_template(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.TEMPLATES]
    template = await service.get(path_id(request))
    values = _posted(await request.post())
    try:
        template, unknown = await service.update(template.id, _input(values))
    except InvalidInput as exc:
        return await _form(request, template, values, field_errors(exc, request), status=422)
    if unknown:
        return await _form(request, template, values, {}, unknown)
    raise redirect(request, "/templates", "saved")


@pages.post("/templates/{id:\\d+}/delete", role="operator", name="template_delete")
async def delete_template(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.TEMPLATES]
    template = await service.get(path_id(request))
    try:
        await service.delete(template.id)
    except Conflict:
        return await _form(request, template, _values(template, request.app[keys.SETTINGS].sending.transliterate),
                           {"": t(request, "templates.in_use")}, status=409)
    raise redirect(request, "/templates", "deleted")

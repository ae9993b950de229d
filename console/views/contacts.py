"""Contacts: list and search (keyset pages), create, edit, delete, custom fields, export, type-ahead."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.forms import (
    actor,
    checked,
    cursor_int,
    encode_cursor,
    ints,
    optional_int,
    path_id,
    text,
)
from console.render import field_errors, formats, redirect, render, t, tn
from console.routing import Pages

from gatewayd import keys
from gatewayd.downloads import send_download
from gatewayd.contacts.export import export_csv, export_json
from gatewayd.contacts.service import ContactInput
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.store import groups as group_store
from gatewayd.store.contacts import Contact

pages = Pages()
PAGE = 50


async def all_groups(request: web.Request) -> list[group_store.Group]:
    return await group_store.list_page(request.app[keys.DB], limit=500)


@pages.get("/contacts", name="contacts")
async def contact_list(request: web.Request) -> web.Response:
    q = request.query.get("q", "")[:100]
    group_id = optional_int(request.query.get("group"), "group")
    after = cursor_int(request) or 0
    page = await request.app[keys.CONTACTS].search(q=q or None, group_id=group_id, language=None, after_id=after,
                                                   limit=PAGE)
    groups = await all_groups(request)
    next_after = encode_cursor(page[-1].id) if len(page) == PAGE else None
    return await render(request, "contacts/list.html", {
        "contacts": page, "q": q, "group_id": group_id, "groups": groups,
        "group_names": {g.id: g.name for g in groups}, "next_after": next_after, "paged": after > 0})


def _form_input(form: Any, field_names: list[str]) -> ContactInput:
    language = text(form, "language", 2) or None
    return ContactInput(
        mobile=text(form, "mobile", 40), last_name=text(form, "last_name", 100),
        first_name=text(form, "first_name", 100), email=text(form, "email", 200),
        language=language, fields={name: text(form, f"field.{name}", 500) for name in field_names},
        optin_source="console" if checked(form, "optin") else None,
        optin_statement=text(form, "optin_statement", 1000) if checked(form, "optin") else None,
        groups=tuple(ints(form, "groups")))


async def _form_page(request: web.Request, contact: Contact | None, values: dict[str, Any],
                     errors: dict[str, str], status: int = 200) -> web.Response:
    groups = [g for g in await all_groups(request) if g.rule is None]
    return await render(request, "contacts/form.html", {
        "contact": contact, "values": values, "errors": errors, "groups": groups,
        "fields": await request.app[keys.CONTACTS].fields()}, status=status)


def _values(contact: Contact | None) -> dict[str, Any]:
    if contact is None:
        return {"mobile": "", "last_name": "", "first_name": "", "email": "", "language": "", "fields": {},
                "groups": []}
    return {"mobile": contact.mobile, "last_name": contact.last_name, "first_name": contact.first_name,
            "email": contact.email, "language": contact.language or "", "fields": dict(contact.fields),
            "groups": list(contact.groups)}


def _posted_values(form: Any, fields: list[str]) -> dict[str, Any]:
    return {"mobile": text(form, "mobile", 40), "last_name": text(form, "last_name", 100),
            "first_name": text(form, "first_name", 100), "email": text(form, "email", 200),
            "language": text(form, "language", 2), "fields": {f: text(form, f"field.{f}", 500) for f in fields},
            "groups": ints(form, "groups")}


@pages.get("/contacts/new", role="operator", name="contact_new")
async def new_contact(request: web.Request) -> web.Response:
    values = _values(None)
    values["mobile"] = request.query.get("mobile", "")[:40]   # "add as a contact" from a conversation
    return await _form_page(request, None, values, {})


@pages.post("/contacts/new", role="operator")
async def create_contact(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.CONTACTS]
    form = await request.post()
    fields = await service.fields()
    try:
        contact = await service.create(_form_input(form, fields), actor(request))
    except (InvalidInput, Conflict) as exc:
        return await _form_page(request, None, _posted_values(form, fields), field_errors(exc, request), 422)
    raise redirect(request, f"/contacts/{contact.id}", "created")


@pages.get("/contacts/{id:\\d+}", name="contact")
async def edit_contact(request: web.Request) -> web.Response:
    contact = await request.app[keys.CONTACTS].get(path_id(request))
    return await _form_page(request, contact, _values(contact), {})


@pages.post("/contacts/{id:\\d+}", role="operator")
async def update_contact(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.CONTACTS]
    contact = await service.get(path_id(request))
    form = await request.post()
    fields = await service.fields()
    try:
        await service.update(contact.id, _form_input(form, fields), actor(request))
        # The edit form shows every static group: unticked ones are left.
        removed = [g for g in contact.groups if g not in ints(form, "groups")]
        for gid in removed:
            group = await request.app[keys.GROUPS].get(gid)
            if group.rule is None:
                await request.app[keys.GROUPS].change_members(gid, [], [contact.id])
    except (InvalidInput, Conflict) as exc:
        return await _form_page(request, contact, _posted_values(form, fields), field_errors(exc, request), 422)
    raise redirect(request, f"/contacts/{contact.id}", "saved")


@pages.post("/contacts/{id:\\d+}/delete", role="operator", name="contact_delete")
async def delete_contact(request: web.Request) -> web.StreamResponse:
    contact = await request.app[keys.CONTACTS].get(path_id(request))
    await request.app[keys.CONTACTS].delete_many([contact.id])
    raise redirect(request, "/contacts", "deleted")


@pages.post("/contacts/delete", role="operator", name="contacts_delete")
async def delete_selected(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    ids = ints(form, "ids")
    if ids:
        await request.app[keys.CONTACTS].delete_many(ids)
    raise redirect(request, "/contacts", "deleted" if ids else None)


@pages.get("/contacts/fields", role="operator", name="contact_fields")
async def fields_page(request: web.Request) -> web.Response:
    return await render(request, "contacts/fields.html", {"fields": await request.app[keys.CONTACTS].fields(),
                                                          "errors": {}, "name": ""})


@pages.post("/contacts/fields", role="operator")
async def add_field(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    service = request.app[keys.CONTACTS]
    name = text(form, "name", 40)
    try:
        await service.add_field(name)
    except (InvalidInput, Conflict) as exc:
        return await render(request, "contacts/fields.html", {"fields": await service.fields(),
                                                              "errors": field_errors(exc, request), "name": name}, status=422)
    raise redirect(request, "/contacts/fields", "added")


@pages.post("/contacts/fields/remove", role="operator", name="contact_field_remove")
async def remove_field(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    await request.app[keys.CONTACTS].remove_field(text(form, "name", 40))
    raise redirect(request, "/contacts/fields", "removed")


@pages.get("/contacts/export", role="operator", name="contacts_export")
async def export(request: web.Request) -> web.StreamResponse:
    fmt = request.query.get("format", "csv")
    group_id = optional_int(request.query.get("group"), "group")
    if group_id is not None:
        await request.app[keys.GROUPS].get(group_id)
    db = request.app[keys.DB]
    if fmt == "json":
        chunks, ctype, name = export_json(db, group_id), "application/json", "contacts.json"
    else:
        sep = {"comma": ",", "tab": "\t"}.get(request.query.get("separator", ""), ";")
        chunks, ctype, name = export_csv(db, group_id, separator=sep), "text/csv; charset=utf-8", "contacts.csv"
    return await send_download(request, chunks, ctype, name)


@pages.get("/recipients/search", role="operator", name="recipient_search", json=True)
async def recipient_search(request: web.Request) -> web.Response:
    """Type-ahead for recipients: contacts by name or number, then groups by name (JSON)."""
    q = request.query.get("q", "").strip()[:60]
    results: list[dict[str, Any]] = []
    if q:
        fmt = formats(request)
        for c in await request.app[keys.CONTACTS].search(q=q, group_id=None, language=None, after_id=0, limit=8):
            name = " ".join(p for p in (c.first_name, c.last_name) if p) or fmt.phone(c.mobile)
            results.append({"kind": "contact", "value": c.id, "label": name, "sub": fmt.phone(c.mobile)})
        folded = q.casefold()
        for g in await all_groups(request):
            if folded in g.name.casefold():
                results.append({"kind": "group", "value": g.id, "label": g.name,
                                "sub": tn(request, "groups.members_count", g.members, n=fmt.integer(g.members)),
                                **({"disabled": True, "why": t(request, "groups.empty_unselectable")}
                                   if not g.members else {})})
                if len(results) >= 12:
                    break
    return web.json_response({"results": results})


@pages.get("/contacts/search", role="operator", name="contact_search", json=True)
async def contact_search(request: web.Request) -> web.Response:
    """Type-ahead for contacts alone (group members)."""
    q = request.query.get("q", "").strip()[:60]
    fmt = formats(request)
    results = []
    if q:
        for c in await request.app[keys.CONTACTS].search(q=q, group_id=None, language=None, after_id=0, limit=10):
            name = " ".join(p for p in (c.first_name, c.last_name) if p) or fmt.phone(c.mobile)
            results.append({"kind": "contact", "value": c.id, "label": name, "sub": fmt.phone(c.mobile)})
    return web.json_response({"results": results})

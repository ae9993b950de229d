"""/api/v1/contacts, /api/v1/contact-fields and the contact export."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.downloads import send_download
from gatewayd.api.auth import actor, require_scope
from gatewayd.api.body import RowId, parse_body
from gatewayd.api.openapi import describe, files
from gatewayd.api.paging import int_query, next_cursor, page_args, page_schema, path_id
from gatewayd.api.schemas import CONTACT_SCHEMA, FIELDS_SCHEMA
from gatewayd.contacts.export import contact_json, export_csv, export_json
from gatewayd.contacts.service import ContactInput
from gatewayd.errors import InvalidInput

routes = web.RouteTableDef()


class ContactBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mobile: str = Field(min_length=1, max_length=40)
    last_name: str = Field("", max_length=100)
    first_name: str = Field("", max_length=100)
    email: str = Field("", max_length=200)
    language: str | None = Field(None, pattern="^(fr|en)$")
    fields: dict[str, str | None] | None = None
    groups: list[RowId] = []
    optin_source: str | None = Field(None, max_length=100)
    optin_statement: str | None = Field(None, max_length=1000)

    def to_input(self) -> ContactInput:
        return ContactInput(
            self.mobile,
            self.last_name,
            self.first_name,
            self.email,
            self.language,
            self.fields,
            self.optin_source,
            self.optin_statement,
            tuple(self.groups),
        )


class BulkDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[RowId] = Field(min_length=1, max_length=100_000)


class FieldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40)


@routes.get("/api/v1/contacts")
@describe(
    "List contacts (search, group, language filters)",
    tag="contacts",
    scope="read",
    responses={200: page_schema("contacts", CONTACT_SCHEMA), 422: None},
    query={
        "q": "words (prefixes of last name, first name or e-mail, accents folded) or a number prefix",
        "group": "group id",
        "language": "fr or en",
        "limit": "1-500 (default 100)",
        "cursor": "next_cursor of the previous page",
    },
)
async def list_contacts(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request)
    language = request.query.get("language") or None
    if language not in (None, "fr", "en"):
        raise InvalidInput("language", "fr or en")
    page = await request.app[keys.CONTACTS].search(
        q=request.query.get("q"),
        group_id=int_query(request, "group"),
        language=language,
        after_id=after or 0,
        limit=limit,
    )
    return web.json_response(
        {"contacts": [contact_json(c) for c in page], "next_cursor": next_cursor(page, limit, lambda c: c.id)}
    )


@routes.post("/api/v1/contacts")
@describe(
    "Create a contact",
    tag="contacts",
    scope="send",
    body=ContactBody,
    responses={201: CONTACT_SCHEMA, 409: None, 422: None},
)
async def create_contact(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, ContactBody)
    contact = await request.app[keys.CONTACTS].create(body.to_input(), actor(key))
    return web.json_response(contact_json(contact), status=201)


@routes.get("/api/v1/contacts/export")
@describe(
    "Export contacts (all or a group) as CSV or JSON",
    tag="contacts",
    scope="read",
    responses={
        200: files("CSV (UTF-8 BOM, cells starting with = + - @ neutralised) or JSON {contacts: [...]}",
                   "text/csv", json_schema={"type": "object", "required": ["contacts"], "properties": {
                       "contacts": {"type": "array", "items": {"type": "object"}}}}),
        404: None,
        422: None,
    },
    query={"format": "csv (default) or json", "group": "group id", "separator": "semicolon (default), comma or tab"},
)
async def export(request: web.Request) -> web.StreamResponse:
    await require_scope(request, "read")
    fmt = request.query.get("format", "csv")
    group_id = int_query(request, "group")
    if group_id is not None:
        await request.app[keys.GROUPS].get(group_id)
    db = request.app[keys.DB]
    if fmt == "csv":
        sep = {"semicolon": ";", ";": ";", "comma": ",", ",": ",", "tab": "\t"}.get(request.query.get("separator", ";"))
        if sep is None:
            raise InvalidInput("separator", "semicolon, comma or tab")
        chunks, ctype, name = export_csv(db, group_id, separator=sep), "text/csv; charset=utf-8", "contacts.csv"
    elif fmt == "json":
        chunks, ctype, name = export_json(db, group_id), "application/json", "contacts.json"
    else:
        raise InvalidInput("format", "csv or json")
    return await send_download(request, chunks, ctype, name)


@routes.post("/api/v1/contacts/delete")
@describe(
    "Delete many contacts",
    tag="contacts",
    scope="send",
    body=BulkDelete,
    responses={200: {"type": "object", "properties": {"deleted": {"type": "integer"}}}, 422: None},
)
async def bulk_delete(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, BulkDelete)
    deleted = await request.app[keys.CONTACTS].delete_many(body.ids)
    return web.json_response({"deleted": deleted})


@routes.get(r"/api/v1/contacts/{id:\d+}")
@describe("One contact", tag="contacts", scope="read", responses={200: CONTACT_SCHEMA, 404: None})
async def get_contact(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(contact_json(await request.app[keys.CONTACTS].get(path_id(request))))


@routes.put(r"/api/v1/contacts/{id:\d+}")
@describe(
    "Replace a contact",
    tag="contacts",
    scope="send",
    body=ContactBody,
    responses={200: CONTACT_SCHEMA, 404: None, 409: None, 422: None},
)
async def update_contact(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, ContactBody)
    contact = await request.app[keys.CONTACTS].update(path_id(request), body.to_input(), actor(key))
    return web.json_response(contact_json(contact))


@routes.delete(r"/api/v1/contacts/{id:\d+}")
@describe("Delete a contact", tag="contacts", scope="send", responses={204: None, 404: None})
async def delete_contact(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    contact_id = path_id(request)
    await request.app[keys.CONTACTS].get(contact_id)
    await request.app[keys.CONTACTS].delete_many([contact_id])
    return web.Response(status=204)


@routes.get("/api/v1/contact-fields")
@describe("Custom contact fields (at most 20)", tag="contacts", scope="read", responses={200: FIELDS_SCHEMA})
async def list_fields(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response({"fields": await request.app[keys.CONTACTS].fields()})


@routes.post("/api/v1/contact-fields")
@describe(
    "Declare a custom field",
    tag="contacts",
    scope="send",
    body=FieldBody,
    responses={201: FIELDS_SCHEMA, 409: None, 422: None},
)
async def add_field(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, FieldBody)
    return web.json_response({"fields": await request.app[keys.CONTACTS].add_field(body.name)}, status=201)


@routes.delete("/api/v1/contact-fields/{name}")
@describe("Forget a custom field and its values", tag="contacts", scope="send", responses={204: None, 404: None})
async def remove_field(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.CONTACTS].remove_field(request.match_info["name"])
    return web.Response(status=204)

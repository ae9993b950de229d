"""/api/v1/contacts, /api/v1/contact-fields and the contact export; keyset pagination helpers."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.downloads import send_download
from gatewayd.api.auth import require_scope
from gatewayd.api.body import ROW_ID_MAX, RowId, parse_body
from gatewayd.api.openapi import describe, files
from gatewayd.contacts.export import contact_json, export_csv, export_json
from gatewayd.contacts.service import ContactInput
from gatewayd.errors import InvalidInput, NotFound
from gatewayd.store.apikeys import ApiKeyRow

routes = web.RouteTableDef()
MAX_LIMIT = 500

# JSON Schemas of the answers of contacts, groups, imports, templates and campaigns (OpenAPI).
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_INT = {"type": "integer"}


def page_schema(key: str, item: dict[str, Any]) -> dict[str, Any]:
    """{key: [item], next_cursor}: every list of this API."""
    return {
        "type": "object",
        "required": [key, "next_cursor"],
        "properties": {key: {"type": "array", "items": item}, "next_cursor": _NSTR},
    }


CONTACT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "mobile": {"type": "string", "description": "E.164"},
        "last_name": _STR,
        "first_name": _STR,
        "email": _STR,
        "language": {"enum": ["fr", "en", None]},
        "fields": {"type": "object", "additionalProperties": _STR, "description": "custom fields (at most 20)"},
        "optin": {"type": "object", "properties": {"source": _NSTR, "at": _TIME, "statement": _NSTR, "by": _NSTR}},
        "groups": {"type": "array", "items": _INT},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
FIELDS_SCHEMA: dict[str, Any] = {"type": "object", "properties": {"fields": {"type": "array", "items": _STR}}}
GROUP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "name": _STR,
        "description": _STR,
        "members": _INT,
        "kind": {"enum": ["static", "rule"]},
        "rule": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "field": _STR,
                    "op": {"enum": ["eq", "ne", "contains", "prefix", "empty", "not_empty"]},
                    "value": _STR,
                },
            },
        },
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
IMPORT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "purpose": {"enum": ["contacts", "campaign"]},
        "filename": _STR,
        "size": _INT,
        "format": {"enum": ["csv", "txt", "xlsx", "xls"]},
        "state": {"enum": ["uploaded", "analysed", "committed", "failed"]},
        "analysis": {"type": ["object", "null"]},
        "report": {"type": ["object", "null"]},
        "created_by": _NSTR,
        "created_at": _TIME,
        "committed_at": _TIME,
    },
}
TEMPLATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "title": _STR,
        "line": _NSTR,
        "text": _STR,
        "variables": {"type": "array", "items": _STR},
        "unknown_variables": {"type": "array", "items": _STR},
        "encoding": {"enum": ["GSM-7", "UCS-2"]},
        "segments": _INT,
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
CAMPAIGN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": _INT,
        "name": _STR,
        "tag": _STR,
        "category": {"enum": ["marketing", "transactional"]},
        "state": {"enum": ["draft", "scheduled", "running", "paused", "completed", "canceled"]},
        "line": _NSTR,
        "templates": {"type": "object", "additionalProperties": _INT},
        "audience": {"type": "object"},
        "stop_mention": _NSTR,
        "scheduled_at": _TIME,
        "started_at": _TIME,
        "paused_at": _TIME,
        "pause_reason": _NSTR,
        "finished_at": _TIME,
        "created_by": _NSTR,
        "created_at": _TIME,
        "updated_at": _TIME,
        "timing": {"type": ["object", "null"]},
        "timing_report": {"type": ["object", "null"]},
        "parent_id": {"type": ["integer", "null"]},
        "next_send_at": {"type": "array", "items": {"type": "string"}},
    },
}
STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "recipients": {"type": "object", "additionalProperties": _INT},
        **{
            k: _INT
            for k in ("queued", "sent", "delivered", "failed", "blocked", "expired", "unknown", "canceled", "opt_outs")
        },
        "replies": {"type": ["integer", "null"]},
        "progress": {"type": "number"},
        "failure_rate": {"type": "number"},
    },
}


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"v1:{position}".encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> int | None:
    """The position a cursor points after; 422 naming `cursor` when it was not made by us."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != "v1":
            raise ValueError
        position = int(value)
        if abs(position) > ROW_ID_MAX:  # forged: SQLite could not even bind it
            raise ValueError
        return position
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor", "not a cursor returned by this API") from None


def page_args(request: web.Request, default: int = 100) -> tuple[int, int | None]:
    """(limit, position after which to continue) from ?limit=&cursor=."""
    raw = request.query.get("limit")
    try:
        limit = int(raw) if raw is not None else default
    except ValueError:
        raise InvalidInput("limit", "must be an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput("limit", f"between 1 and {MAX_LIMIT}")
    return limit, decode_cursor(request.query.get("cursor"))


def next_cursor(items: list[Any], limit: int, position: Any) -> str | None:
    """A cursor when the page is full (there may be more), else None."""
    return encode_cursor(position(items[-1])) if len(items) == limit else None


def int_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None
    if abs(value) > ROW_ID_MAX:  # SQLite could not even bind it
        raise InvalidInput(name, "out of range")
    return value


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        value = int(request.match_info[name])
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None
    if abs(value) > ROW_ID_MAX:  # no row has it, and SQLite could not even compare it
        raise NotFound(f"no such {name}")
    return value


def actor(key: ApiKeyRow) -> str:
    return f"api key {key.name}"


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

"""/api/v1/contacts, /api/v1/contact-fields and the contact export; keyset pagination helpers."""

from __future__ import annotations

import base64
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.contacts.export import contact_json, export_csv, export_json
from gatewayd.contacts.service import ContactInput
from gatewayd.errors import InvalidInput
from gatewayd.store.apikeys import ApiKeyRow

routes = web.RouteTableDef()
MAX_LIMIT = 500


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
        return int(value)
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
        return int(raw)
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None


def path_id(request: web.Request, name: str = "id") -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise InvalidInput(name, "must be an integer") from None


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
    groups: list[int] = []
    optin_source: str | None = Field(None, max_length=100)
    optin_statement: str | None = Field(None, max_length=1000)

    def to_input(self) -> ContactInput:
        return ContactInput(self.mobile, self.last_name, self.first_name, self.email, self.language,
                            self.fields, self.optin_source, self.optin_statement,  # type: ignore[arg-type]
                            tuple(self.groups))


class BulkDelete(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] = Field(min_length=1, max_length=100_000)


class FieldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=40)


@routes.get("/api/v1/contacts")
async def list_contacts(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request)
    language = request.query.get("language") or None
    if language not in (None, "fr", "en"):
        raise InvalidInput("language", "fr or en")
    page = await request.app[keys.CONTACTS].search(q=request.query.get("q"), group_id=int_query(request, "group"),
                                                   language=language, after_id=after or 0, limit=limit)
    return web.json_response({"contacts": [contact_json(c) for c in page],
                              "next_cursor": next_cursor(page, limit, lambda c: c.id)})


@routes.post("/api/v1/contacts")
async def create_contact(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, ContactBody)
    contact = await request.app[keys.CONTACTS].create(body.to_input(), actor(key))
    return web.json_response(contact_json(contact), status=201)


@routes.get("/api/v1/contacts/export")
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
    response = web.StreamResponse(headers={"Content-Type": ctype,
                                           "Content-Disposition": f'attachment; filename="{name}"'})
    await response.prepare(request)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response


@routes.post("/api/v1/contacts/delete")
async def bulk_delete(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, BulkDelete)
    deleted = await request.app[keys.CONTACTS].delete_many(body.ids)
    return web.json_response({"deleted": deleted})


@routes.get("/api/v1/contacts/{id}")
async def get_contact(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(contact_json(await request.app[keys.CONTACTS].get(path_id(request))))


@routes.put("/api/v1/contacts/{id}")
async def update_contact(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, ContactBody)
    contact = await request.app[keys.CONTACTS].update(path_id(request), body.to_input(), actor(key))
    return web.json_response(contact_json(contact))


@routes.delete("/api/v1/contacts/{id}")
async def delete_contact(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    contact_id = path_id(request)
    await request.app[keys.CONTACTS].get(contact_id)
    await request.app[keys.CONTACTS].delete_many([contact_id])
    return web.Response(status=204)


@routes.get("/api/v1/contact-fields")
async def list_fields(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response({"fields": await request.app[keys.CONTACTS].fields()})


@routes.post("/api/v1/contact-fields")
async def add_field(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, FieldBody)
    return web.json_response({"fields": await request.app[keys.CONTACTS].add_field(body.name)}, status=201)


@routes.delete("/api/v1/contact-fields/{name}")
async def remove_field(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.CONTACTS].remove_field(request.match_info["name"])
    return web.Response(status=204)

"""/api/v1/groups: static groups with members, or rule-based groups (conditions on contact fields)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.api.body import RowId, parse_body
from gatewayd.api.paging import next_cursor, page_args, page_schema, path_id
from gatewayd.api.schemas import GROUP_SCHEMA
from gatewayd.api.imports import body_chunks
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.problems import english, worded
from gatewayd.store import groups as group_store
from gatewayd.store.groups import Condition, Group

routes = web.RouteTableDef()


class ConditionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(min_length=1, max_length=40)
    op: str = "eq"
    value: str = Field("", max_length=200)


class GroupBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    description: str = Field("", max_length=500)
    rule: list[ConditionBody] | None = None

    def conditions(self) -> list[Condition] | None:
        return None if self.rule is None else [Condition(c.field, c.op, c.value) for c in self.rule]


class MembersBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    add: list[RowId] = Field([], max_length=100_000)
    remove: list[RowId] = Field([], max_length=100_000)


def group_json(g: Group) -> dict[str, Any]:
    return {
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "members": g.members,
        "kind": "static" if g.rule is None else "rule",
        "rule": None if g.rule is None else [{"field": c.field, "op": c.op, "value": c.value} for c in g.rule],
        "created_at": utc_iso(g.created_at),
        "updated_at": utc_iso(g.updated_at),
    }


@routes.get("/api/v1/groups")
@describe(
    "List groups with member counts",
    tag="groups",
    scope="read",
    responses={200: page_schema("groups", GROUP_SCHEMA)},
    query={"limit": "1-500", "cursor": "next_cursor of the previous page"},
)
async def list_groups(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request)
    page = await group_store.list_page(request.app[keys.DB], after_id=after or 0, limit=limit)
    return web.json_response(
        {"groups": [group_json(g) for g in page], "next_cursor": next_cursor(page, limit, lambda g: g.id)}
    )


@routes.post("/api/v1/groups")
@describe(
    "Create a static or rule-based group",
    tag="groups",
    scope="send",
    body=GroupBody,
    responses={201: GROUP_SCHEMA, 409: None, 422: None},
)
async def create_group(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, GroupBody)
    group = await request.app[keys.GROUPS].create(body.name, body.description, body.conditions())
    return web.json_response(group_json(group), status=201)


@routes.get(r"/api/v1/groups/{id:\d+}")
@describe("One group", tag="groups", scope="read", responses={200: GROUP_SCHEMA, 404: None})
async def get_group(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(group_json(await request.app[keys.GROUPS].get(path_id(request))))


@routes.put(r"/api/v1/groups/{id:\d+}")
@describe(
    "Replace a group",
    tag="groups",
    scope="send",
    body=GroupBody,
    responses={200: GROUP_SCHEMA, 404: None, 409: None, 422: None},
)
async def update_group(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, GroupBody)
    group = await request.app[keys.GROUPS].update(path_id(request), body.name, body.description, body.conditions())
    return web.json_response(group_json(group))


@routes.delete(r"/api/v1/groups/{id:\d+}")
@describe("Delete a group (its contacts stay)", tag="groups", scope="send", responses={204: None, 404: None})
async def delete_group(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.GROUPS].delete(path_id(request))
    return web.Response(status=204)


@routes.post(r"/api/v1/groups/{id:\d+}/members")
@describe(
    "Add and remove members of a static group",
    tag="groups",
    scope="send",
    body=MembersBody,
    responses={200: GROUP_SCHEMA, 404: None, 409: None},
)
async def change_members(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, MembersBody)
    group = await request.app[keys.GROUPS].change_members(path_id(request), body.add, body.remove)
    return web.json_response(group_json(group))


@routes.post(r"/api/v1/groups/{id:\d+}/delete-contacts")
@describe(
    "Delete every contact of the group (the group stays, empty); their pending campaign messages are dropped",
    tag="groups",
    scope="send",
    responses={200: {"type": "object", "properties": {"deleted": {"type": "integer"}}}, 404: None},
)
async def delete_group_contacts(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    return web.json_response({"deleted": await request.app[keys.GROUPS].delete_contacts(path_id(request))})


@routes.put(r"/api/v1/groups/{id:\d+}/members/file")
@describe(
    "Replace a static group's members by the contacts whose numbers a CSV/TXT/XLS/XLSX file lists",
    tag="groups",
    scope="send",
    responses={200: S.MEMBERS_FROM_FILE, 404: None, 409: None, 413: None, 422: None},
    query={"filename": "name of a raw-body upload"},
)
async def replace_members(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    group_id = path_id(request)
    await request.app[keys.GROUPS].get(group_id)
    chunks, _ = await body_chunks(request)
    found = await request.app[keys.IMPORTS].read_numbers(chunks)
    result = await request.app[keys.GROUPS].replace_members(group_id, found.numbers)
    return web.json_response({**result, "invalid": found.invalid, "duplicates": found.duplicates,
                              "invalid_lines": [{"line": ln, "value": v, "reason": worded(r, english), "code": r["code"]}
                                                for ln, v, r in found.invalid_lines]})

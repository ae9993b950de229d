"""Groups: list, create and edit (static, or a rule on contact fields), members, delete."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.forms import cursor_int, encode_cursor, ints, path_id, text
from console.render import field_errors, redirect, render
from console.routing import Pages

from gatewayd import keys
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.store import groups as group_store
from gatewayd.store.groups import Condition, Group

pages = Pages()
RULE_ROWS = 5
MEMBERS_PAGE = 50


def _conditions(form: Any) -> list[Condition] | None:
    if text(form, "kind", 10) != "rule":
        return None
    rule = []
    for i in range(RULE_ROWS):
        field = text(form, f"rule_field_{i}", 40).strip()
        if field:
            rule.append(Condition(field, text(form, f"rule_op_{i}", 20) or "eq", text(form, f"rule_value_{i}", 200)))
    return rule


def _values(group: Group | None) -> dict[str, Any]:
    if group is None:
        return {"name": "", "description": "", "kind": "static", "rule": []}
    return {"name": group.name, "description": group.description, "kind": "static" if group.rule is None else "rule",
            "rule": [{"field": c.field, "op": c.op, "value": c.value} for c in (group.rule or ())]}


async def _form(request: web.Request, group: Group | None, values: dict[str, Any], errors: dict[str, str],
                status: int = 200, members: dict[str, Any] | None = None) -> web.Response:
    rows = values["rule"] + [{"field": "", "op": "eq", "value": ""}] * (RULE_ROWS - len(values["rule"]))
    return await render(request, "groups/form.html", {
        "group": group, "values": values, "members": members, "rows": rows[:RULE_ROWS], "errors": errors,
        "ops": group_store.OPS,
        "field_choices": [*group_store.BUILTIN_FIELDS, *await request.app[keys.CONTACTS].fields()]}, status=status)


@pages.get("/groups", name="groups")
async def group_list(request: web.Request) -> web.Response:
    return await render(request, "groups/list.html",
                        {"groups": await group_store.list_page(request.app[keys.DB], limit=500)})


@pages.get("/groups/new", role="operator", name="group_new")
async def new_group(request: web.Request) -> web.Response:
    return await _form(request, None, _values(None), {})


@pages.post("/groups/new", role="operator")
async def create_group(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    rule = _conditions(form)
    try:
        group = await request.app[keys.GROUPS].create(text(form, "name", 100), text(form, "description", 500), rule)
    except (InvalidInput, Conflict) as exc:
        values = {"name": text(form, "name", 100), "description": text(form, "description", 500),
                  "kind": "rule" if rule is not None else "static",
                  "rule": [{"field": c.field, "op": c.op, "value": c.value} for c in rule or []]}
        return await _form(request, None, values, field_errors(exc, request), 422)
    raise redirect(request, f"/groups/{group.id}", "created")


@pages.get("/groups/{id:\\d+}", name="group")
async def show_group(request: web.Request) -> web.Response:
    group = await request.app[keys.GROUPS].get(path_id(request))
    after = cursor_int(request) or 0
    if group.rule is None:
        members = await request.app[keys.CONTACTS].search(q=None, group_id=group.id, language=None,
                                                          after_id=after, limit=MEMBERS_PAGE)
    else:
        members = await _rule_members(request, group, after)
    next_after = encode_cursor(members[-1].id) if len(members) == MEMBERS_PAGE else None
    return await _form(request, group, _values(group), {}, members={
        "items": members, "next_after": next_after, "paged": after > 0})


async def _rule_members(request: web.Request, group: Group, after: int) -> list[Any]:
    """One page of a rule group's members after contact id `after`."""
    out: list[Any] = []
    async with request.app[keys.DB].read() as conn:
        async for batch in group_store.member_batches(conn, group.id, size=500):
            out += [c for c in batch if c.id > after]
            if len(out) >= MEMBERS_PAGE:
                break
    return out[:MEMBERS_PAGE]


@pages.post("/groups/{id:\\d+}", role="operator")
async def update_group(request: web.Request) -> web.StreamResponse:
    group = await request.app[keys.GROUPS].get(path_id(request))
    form = await request.post()
    rule = _conditions(form)
    try:
        await request.app[keys.GROUPS].update(group.id, text(form, "name", 100), text(form, "description", 500), rule)
    except (InvalidInput, Conflict) as exc:
        values = {"name": text(form, "name", 100), "description": text(form, "description", 500),
                  "kind": "rule" if rule is not None else "static",
                  "rule": [{"field": c.field, "op": c.op, "value": c.value} for c in rule or []]}
        return await _form(request, group, values, field_errors(exc, request), 422)
    raise redirect(request, f"/groups/{group.id}", "saved")


@pages.post("/groups/{id:\\d+}/members", role="operator", name="group_members")
async def change_members(request: web.Request) -> web.StreamResponse:
    group_id = path_id(request)
    form = await request.post()
    add, remove = ints(form, "contact"), ints(form, "remove")
    await request.app[keys.GROUPS].change_members(group_id, add, remove)
    raise redirect(request, f"/groups/{group_id}", "added" if add else "removed")


@pages.post("/groups/{id:\\d+}/delete", role="operator", name="group_delete")
async def delete_group(request: web.Request) -> web.StreamResponse:
    await request.app[keys.GROUPS].delete(path_id(request))
    raise redirect(request, "/groups", "deleted")

"""STOP list: who is opted out now (keyset on number), the history of every change, manual add/remove."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console.forms import actor, cursor_int, decode_cursor, encode_cursor, text
from console.render import field_errors, redirect, render
from console.routing import Pages, allows
from console.state import session_of
from console.views.imports import read_upload

from gatewayd import keys
from gatewayd.contacts.number_list import collect_numbers, pasted_rows
from gatewayd.errors import Forbidden, InvalidInput, NotFound, PayloadTooLarge

pages = Pages()
PAGE = 50


async def _page(request: web.Request, errors: dict[str, str], number: str = "", status: int = 200,
                **extra: Any) -> web.Response:
    optouts = request.app[keys.INBOUND].optouts
    cursor = decode_cursor(request)
    after_number = cursor[0] if cursor else None
    current = await optouts.current(limit=PAGE, after_number=after_number)
    history_before = cursor_int(request, "hafter")
    history_number = request.query.get("number", "").strip()[:40] or None
    try:
        history = await optouts.history(number=history_number, limit=PAGE, before_id=history_before)
    except InvalidInput as exc:
        history, errors = [], {**errors, "history": next(iter(field_errors(exc, request).values()))}
    return await render(request, "optouts/list.html", {
        "current": current, "history": history, "errors": errors, "number": number,
        "history_number": history_number or "",
        "next_after": encode_cursor(current[-1].number) if len(current) == PAGE else None,
        "history_next": encode_cursor(history[-1].id) if len(history) == PAGE else None,
        "paged": after_number is not None or history_before is not None, "list_report": None,
        "list_values": {}, **extra}, status=status)


@pages.get("/stop-list", name="optouts")
async def stop_list(request: web.Request) -> web.Response:
    return await _page(request, {})


@pages.post("/stop-list", role="operator", name="optout_add")
async def add(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    number, note = text(form, "number", 40), text(form, "note", 200).strip() or None
    try:
        await request.app[keys.INBOUND].optouts.add(number, source="console", actor=actor(request), note=note)
    except InvalidInput as exc:
        return await _page(request, field_errors(exc, request), number, 422)
    raise redirect(request, "/stop-list", "added")


@pages.post("/stop-list/remove", role="operator", name="optout_remove")
async def remove(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    number, note = text(form, "number", 40), text(form, "note", 200)
    admin = allows(session_of(request).user.role, "admin")
    try:
        await request.app[keys.INBOUND].optouts.remove(number, source="console", actor=actor(request), note=note,
                                                       admin=admin)
    except (InvalidInput, NotFound, Forbidden) as exc:
        return await _page(request, {"remove": next(iter(field_errors(exc, request).values()))}, "", exc.status)
    raise redirect(request, "/stop-list", "removed")


@pages.post("/stop-list/import", role="operator", multipart=True, name="optout_import")
async def import_list(request: web.Request) -> web.Response:
    """Opt out a whole list at once (pasted, or a CSV/TXT/XLSX file such as a previous provider's
    STOP list); every number gets the history, webhook and blocking of a single addition."""
    try:
        upload = await read_upload(request, required=False)
    except InvalidInput as exc:
        return await _page(request, field_errors(exc, request), status=exc.status)
    note = upload.fields.get("list_note", "").strip()[:200]
    pasted = upload.fields.get("numbers", "")
    values = {"list_note": note, "numbers": pasted[:20_000]}
    try:
        if not note:
            raise InvalidInput("list_note", code="optout.list_note_required")
        if upload.chunks is not None:
            found = await request.app[keys.IMPORTS].read_numbers(upload.chunks)
        elif pasted.strip():
            found = collect_numbers(pasted_rows(pasted), request.app[keys.SETTINGS].sending.default_region,
                                    file=False)
        else:
            raise InvalidInput("numbers", code="optout.list_empty")
    except (InvalidInput, PayloadTooLarge) as exc:
        return await _page(request, field_errors(exc, request), status=exc.status, list_values=values)
    added, already = await request.app[keys.INBOUND].optouts.add_many(
        found.numbers, source="import", actor=actor(request), note=note)
    report = {"added": added, "already": already, "duplicates": found.duplicates, "invalid": found.invalid,
              "invalid_lines": found.invalid_lines, "filename": upload.filename}
    return await _page(request, {}, list_report=report)

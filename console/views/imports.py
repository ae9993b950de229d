"""Import wizard: upload → analysis report → mapping → groups → opt-in certification → confirm → report."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from aiohttp import BodyPartReader, web
from console.forms import (
    actor,
    checked,
    cursor_int,
    encode_cursor,
    ints,
    path_id,
    text,
    texts,
)
from console.i18n import word_problem
from console.render import field_errors, redirect, render, t
from console.state import LANG
from console.routing import Pages
from console.security import check_multipart_token
from multidict import MultiDict

from gatewayd import keys
from gatewayd.csv_export import csv_stream
from gatewayd.downloads import send_download
from gatewayd.contacts import samples
from gatewayd.contacts.analysis import BUILTIN_TARGETS, RECORD_TARGETS, field_slug
from gatewayd.contacts.importer import Certification, CommitOptions
from gatewayd.errors import BadRequest, Conflict, InvalidInput, PayloadTooLarge
from gatewayd.store import groups as group_store
from gatewayd.store import imports as import_store
from gatewayd.store.imports import ImportRow

pages = Pages()
CHUNK = 64 * 1024
PAGE = 30
FIELD_CHARS = 200_000  # text fields of a file form (a pasted list of numbers is the longest)


class Upload:
    """A multipart form read up to its file part: the other fields, and the file as a stream."""

    def __init__(self, fields: MultiDict[str], filename: str | None, chunks: AsyncIterator[bytes] | None) -> None:
        self.fields = fields
        self.filename = filename
        self.chunks = chunks


async def read_upload(request: web.Request, field: str = "file", *, required: bool = True) -> Upload:
    """Read a multipart form whose file input comes last: `_csrf` is checked before any file byte is
    stored, other parts are collected, and the file is returned as a stream (None when no file)."""
    if not request.content_type.startswith("multipart/"):  # a script's form post; browsers send multipart here
        raise BadRequest(f"this form carries a file: send it as multipart/form-data, not {request.content_type}")
    reader = await request.multipart()
    fields: MultiDict[str] = MultiDict()
    token: str | None = None
    while True:
        part = await reader.next()
        if part is None:
            check_multipart_token(request, token)
            if required:
                raise InvalidInput(field, code="upload.no_file")
            return Upload(fields, None, None)
        if not isinstance(part, BodyPartReader):
            continue
        if part.name == "_csrf":
            token = (await part.read(decode=True)).decode("utf-8", "replace")[:200]
            continue
        if part.name != field:
            if len(fields) < 10_000:
                fields.add(part.name or "", await _field_text(part))
            else:
                await part.release()
            continue
        check_multipart_token(request, token)
        if not part.filename:
            await part.release()  # an empty file input: no file chosen
            if required:
                raise InvalidInput(field, code="upload.no_file")
            return Upload(fields, None, None)
        return Upload(fields, part.filename, _chunks(part))


async def _field_text(part: BodyPartReader) -> str:
    """A form field's text, read by chunks up to FIELD_CHARS: past it the form is refused naming
    the field (a pasted list cut short without a word would be worse than no list)."""
    data = bytearray()
    while chunk := await part.read_chunk(CHUNK):
        data += chunk
        if len(data) > 4 * FIELD_CHARS:  # a character is at most 4 bytes of UTF-8
            break
    text = bytes(part.decode(bytes(data))).decode("utf-8", "replace")
    if len(text) > FIELD_CHARS:
        await part.release()
        raise InvalidInput(part.name or "form", code="form.field_too_long", limit=FIELD_CHARS)
    return text


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


@pages.get("/imports", role="operator", name="imports")
async def import_list(request: web.Request) -> web.Response:
    after = cursor_int(request)
    page = await import_store.list_page(request.app[keys.DB], after_id=after, limit=PAGE)
    return await render(request, "imports/list.html", {
        "imports": page, "errors": {}, "next_after": encode_cursor(page[-1].id) if len(page) == PAGE else None,
        "paged": after is not None, "max_bytes": request.app[keys.SETTINGS].imports.max_bytes,
        "expire_hours": request.app[keys.SETTINGS].imports.expire_hours})


@pages.post("/imports", role="operator", multipart=True)
async def upload(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.IMPORTS]
    try:
        form = await read_upload(request)
        assert form.chunks is not None and form.filename is not None
        row = await service.save_upload(form.chunks, filename=form.filename, purpose="contacts",
                                        created_by=actor(request))
    except (InvalidInput, PayloadTooLarge) as exc:
        page = await import_store.list_page(request.app[keys.DB], limit=PAGE)
        return await render(request, "imports/list.html", {
            "imports": page, "errors": field_errors(exc, request), "next_after": None, "paged": False,
            "max_bytes": request.app[keys.SETTINGS].imports.max_bytes,
        "expire_hours": request.app[keys.SETTINGS].imports.expire_hours}, status=exc.status)
    try:
        await service.analyse(row.id, sheet=form.fields.get("sheet") or None)
    except InvalidInput:
        pass  # the analysis page shows the problem and lets the user choose (sheet, header)
    raise redirect(request, f"/imports/{row.id}")


def mapping_choices(request: web.Request, row: ImportRow) -> list[list[tuple[str, str]]]:
    """Per column, (target, label) offered: ignore, built-in fields, existing custom fields, and a new
    custom field named after its header."""
    analysis = row.analysis or {}
    existing = analysis.get("existing_custom_fields", [])
    known = {f.lower() for f in existing}
    headers = analysis.get("headers", [])
    chosen = analysis.get("mapping", [])
    out = []
    for col in range(analysis.get("columns", 0)):
        options = [("ignore", t(request, "import.ignore")),
                   *((b, t(request, f"import.target.{b}")) for b in (*BUILTIN_TARGETS, *RECORD_TARGETS))]
        options += [(f"field:{f}", t(request, "import.field", name=f)) for f in existing]
        slug = field_slug(headers[col]) if col < len(headers) and headers[col] else None
        if slug and slug.lower() not in known and slug.lower() not in BUILTIN_TARGETS:
            options.append((f"field:{slug}", t(request, "import.new_field", name=slug)))
        if col < len(chosen) and chosen[col] not in {o[0] for o in options}:
            options.append((chosen[col], t(request, "import.new_field", name=chosen[col].removeprefix("field:"))))
        out.append(options)
    return out


async def _analysis_page(request: web.Request, row: ImportRow, errors: dict[str, str],
                         status: int = 200) -> web.Response:
    return await render(request, "imports/analysis.html", {
        "row": row, "a": row.analysis or {}, "choices": mapping_choices(request, row), "errors": errors}, status=status)


@pages.get("/imports/sample-{model:[12]}.{fmt:csv|xlsx}", role="operator", name="import_sample")
async def sample_file(request: web.Request) -> web.Response:
    content, name, ctype = samples.sample_file(int(request.match_info["model"]), request.match_info["fmt"])
    return web.Response(body=content, headers={"Content-Type": ctype,
                                               "Content-Disposition": f'attachment; filename="{name}"'})


@pages.get("/imports/{id:\\d+}/rejects.csv", role="operator", name="import_rejects")
async def rejects_csv(request: web.Request) -> web.StreamResponse:
    """The rejected lines with their reason in the user's language, to fix in Excel and import again."""
    import_id = path_id(request)
    lang = request.get(LANG, "en")
    reasons: dict[tuple[str, str], str] = {}

    def word(code: str, params: Mapping[str, Any]) -> str:
        # Most rejected lines share a few reasons: word each once (a bounded cache).
        key = (code, repr(sorted(params.items())))
        found = reasons.get(key)
        if found is None:
            found = word_problem(lang, code, params)
            if len(reasons) < 1000:
                reasons[key] = found
        return found

    header, rows = await request.app[keys.IMPORTS].rejected_rows(import_id, word)
    header = [t(request, "import.rejects.line"), t(request, "import.rejects.reason"), *header[2:]]
    return await send_download(request, csv_stream(header, rows), "text/csv; charset=utf-8",
                               f"import-{import_id}-rejected.csv")


@pages.get("/imports/{id:\\d+}", role="operator", name="import_show")
async def show_import(request: web.Request) -> web.Response:
    row = await request.app[keys.IMPORTS].get(path_id(request))
    if row.state == "committed":
        return await render(request, "imports/report.html", {"row": row, "r": row.report or {}})
    errors: dict[str, str] = {}
    if row.analysis is None:
        try:
            await request.app[keys.IMPORTS].analyse(row.id)
        except (InvalidInput, Conflict) as exc:
            errors = field_errors(exc, request)
        row = await request.app[keys.IMPORTS].get(row.id)
    return await _analysis_page(request, row, errors)


@pages.post("/imports/{id:\\d+}/delete", role="operator", name="import_delete")
async def delete_import(request: web.Request) -> web.StreamResponse:
    await request.app[keys.IMPORTS].delete(path_id(request))
    raise redirect(request, "/imports", "deleted")


@pages.post("/imports/{id:\\d+}/analyse", role="operator", name="import_analyse")
async def reanalyse(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.IMPORTS]
    row = await service.get(path_id(request))
    form = await request.post()
    header = text(form, "header_line", 10)
    mapping = texts(form, "mapping", 100)
    try:
        # Another header row changes the columns: the mapping is proposed again for it.
        changed = header != str((row.analysis or {}).get("header_line") or 0)
        await service.analyse(row.id, sheet=text(form, "sheet", 100) or None,
                              header_line=int(header) if header.isdigit() else None,
                              mapping=tuple(mapping) if mapping and not changed and not checked(form, "repropose")
                              else None)
    except (InvalidInput, Conflict) as exc:
        return await _analysis_page(request, await service.get(row.id), field_errors(exc, request), 422)
    raise redirect(request, f"/imports/{row.id}")


def _choices(form: Any) -> dict[str, Any]:
    return {"groups": ints(form, "groups"), "new_groups": [g.strip() for g in texts(form, "new_group", 100)][:20],
            "certified": checked(form, "certified"), "statement": text(form, "statement", 1000).strip(),
            "on_existing": "skip" if text(form, "on_existing", 10) == "skip" else "update",
            "opted_out": "keep_contact" if text(form, "opted_out", 20) == "keep_contact" else "skip"}


async def _options_page(request: web.Request, row: ImportRow, choices: dict[str, Any], errors: dict[str, str],
                        status: int = 200) -> web.Response:
    groups = [g for g in await group_store.list_page(request.app[keys.DB], limit=500) if g.rule is None]
    return await render(request, "imports/options.html", {"row": row, "a": row.analysis or {}, "groups": groups,
                                                          "c": choices, "errors": errors}, status=status)


@pages.get("/imports/{id:\\d+}/options", role="operator", name="import_options")
async def options(request: web.Request) -> web.StreamResponse:
    row = await request.app[keys.IMPORTS].get(path_id(request))
    if row.state == "committed":
        raise redirect(request, f"/imports/{row.id}")
    if not row.analysis or "valid" not in row.analysis:
        raise redirect(request, f"/imports/{row.id}")
    choices = {"groups": [], "new_groups": [], "certified": False, "statement": t(request, "import.default_statement"),
               "on_existing": "update", "opted_out": "skip"}
    return await _options_page(request, row, choices, {})


@pages.post("/imports/{id:\\d+}/confirm", role="operator", name="import_confirm")
async def confirm(request: web.Request) -> web.StreamResponse:
    """Check the choices and show what will happen; nothing is written yet."""
    row = await request.app[keys.IMPORTS].get(path_id(request))
    form = await request.post()
    choices = _choices(form)
    errors = {}
    if not choices["certified"]:
        errors["certified"] = t(request, "import.certify_required")
    if not choices["statement"]:
        errors["statement"] = t(request, "import.statement_required")
    groups = {g.id: g for g in await group_store.list_page(request.app[keys.DB], limit=500)}
    if errors:
        return await _options_page(request, row, choices, errors, 422)
    return await render(request, "imports/confirm.html", {
        "row": row, "a": row.analysis or {}, "c": choices, "group_names": [groups[g].name for g in choices["groups"]
                                                                          if g in groups]})


@pages.post("/imports/{id:\\d+}/commit", role="operator", name="import_commit")
async def commit(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.IMPORTS]
    row = await service.get(path_id(request))
    form = await request.post()
    choices = _choices(form)
    if not choices["certified"] or not choices["statement"]:
        return await _options_page(request, row, choices, {"certified": t(request, "import.certify_required")}, 422)
    try:
        await service.commit(row.id, CommitOptions(
            certification=Certification(choices["statement"], actor(request)), group_ids=tuple(choices["groups"]),
            new_groups=tuple(choices["new_groups"]), update_existing=choices["on_existing"] == "update",
            keep_opted_out_contacts=choices["opted_out"] == "keep_contact"))
    except (InvalidInput, Conflict) as exc:
        return await _options_page(request, await service.get(row.id), choices, field_errors(exc, request), exc.status)
    raise redirect(request, f"/imports/{row.id}", "imported")

"""/api/v1/imports: upload a file (streamed to disk), analyse it (writes nothing), commit it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api import schemas as S
from gatewayd.api.auth import actor, require_scope
from gatewayd.api.body import RowId, parse_body
from gatewayd.api.paging import next_cursor, page_args, page_schema, path_id
from gatewayd.api.schemas import IMPORT_SCHEMA
from gatewayd.api.openapi import describe, files
from gatewayd.clock import utc_iso
from gatewayd.contacts import samples
from gatewayd.contacts.importer import Certification, CommitOptions
from gatewayd.csv_export import csv_stream
from gatewayd.downloads import send_download
from gatewayd.errors import BadRequest, FieldError, InvalidInput
from gatewayd.store import imports as import_store
from gatewayd.store.imports import ImportRow

routes = web.RouteTableDef()
CHUNK = 64 * 1024


def import_json(row: ImportRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "purpose": row.purpose,
        "filename": row.filename,
        "size": row.size,
        "format": row.format,
        "state": row.state,
        "analysis": row.analysis,
        "report": row.report,
        "created_by": row.created_by,
        "created_at": utc_iso(row.created_at),
        "committed_at": utc_iso(row.committed_at),
    }


class AnalyseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sheet: str | None = Field(None, max_length=100)
    has_header: bool | None = None
    # The file's line holding the header (0: the file has none); found among the first rows when absent.
    header_line: int | None = Field(None, ge=0, le=1_000_000)
    mapping: list[str] | None = Field(None, max_length=200)


class OptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certified: bool
    statement: str = Field(min_length=1, max_length=1000)


class CommitBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    optin: OptIn
    mapping: list[str] | None = Field(None, max_length=200)
    groups: list[RowId] = []
    new_groups: list[str] = Field([], max_length=20)
    on_existing: Literal["update", "skip"] = "update"
    opted_out: Literal["skip", "keep_contact"] = "skip"


async def body_chunks(request: web.Request) -> tuple[AsyncIterator[bytes], str]:
    """The uploaded bytes as a stream: a multipart 'file' part, or the raw body (?filename=)."""
    if request.content_type.startswith("multipart/"):
        try:
            reader = await request.multipart()
        except ValueError as exc:  # no boundary in the Content-Type: aiohttp cannot even start reading
            raise BadRequest(f"unusable multipart body: {exc}", [FieldError("Content-Type", str(exc))]) from None
        while True:
            part = await reader.next()
            if part is None:
                raise InvalidInput("file", "no 'file' part in the multipart body")
            if isinstance(part, BodyPartReader) and part.name == "file":
                break
        filename = part.filename or request.query.get("filename") or "upload"

        async def parts() -> AsyncIterator[bytes]:
            while chunk := await part.read_chunk(CHUNK):
                yield chunk

        return parts(), filename

    async def raw() -> AsyncIterator[bytes]:
        async for chunk in request.content.iter_chunked(CHUNK):
            yield chunk

    return raw(), request.query.get("filename") or "upload.csv"


@routes.post("/api/v1/imports")
@describe(
    "Upload a CSV, TXT, XLS or XLSX file (multipart 'file' part, or the raw body)",
    tag="imports",
    scope="send",
    responses={201: IMPORT_SCHEMA, 413: None, 422: None},
    query={"purpose": "contacts (default) or campaign (recipient file)", "filename": "name of a raw-body upload"},
)
async def upload(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    purpose = request.query.get("purpose", "contacts")
    if purpose not in ("contacts", "campaign"):
        raise InvalidInput("purpose", "contacts or campaign")
    chunks, filename = await body_chunks(request)
    row = await request.app[keys.IMPORTS].save_upload(chunks, filename=filename, purpose=purpose, created_by=actor(key))
    return web.json_response(import_json(row), status=201)


@routes.get("/api/v1/imports")
@describe(
    "List imports, newest first",
    tag="imports",
    scope="read",
    responses={200: page_schema("imports", IMPORT_SCHEMA)},
    query={"limit": "1-500", "cursor": "next_cursor of the previous page"},
)
async def list_imports(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request, default=50)
    page = await import_store.list_page(request.app[keys.DB], after_id=after, limit=limit)
    return web.json_response(
        {"imports": [import_json(r) for r in page], "next_cursor": next_cursor(page, limit, lambda r: r.id)}
    )


@routes.get("/api/v1/imports/sample")
@describe(
    "A sample file to fill in: model 1 (numbers alone) or 2 (numbers, names and fields), CSV or XLSX",
    tag="imports",
    scope="read",
    responses={200: files("the sample file", "text/csv",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), 422: None},
    query={"model": {"description": "1 or 2", "type": "string", "enum": ["1", "2"]},
           "format": {"description": "csv or xlsx", "type": "string", "enum": ["csv", "xlsx"]}},
)
async def sample(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    try:
        content, name, ctype = samples.sample_file(int(request.query.get("model", "2") or 0),
                                                   request.query.get("format", "csv"))
    except ValueError as exc:
        raise InvalidInput("model", str(exc)) from None
    return web.Response(body=content, headers={"Content-Type": ctype,
                                               "Content-Disposition": f'attachment; filename="{name}"'})


@routes.get(r"/api/v1/imports/{id:\d+}")
@describe(
    "One import with its analysis and report", tag="imports", scope="read", responses={200: IMPORT_SCHEMA, 404: None}
)
async def get_import(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(import_json(await request.app[keys.IMPORTS].get(path_id(request))))


@routes.delete(r"/api/v1/imports/{id:\d+}")
@describe(
    "Delete an upload (its file, analysis and record); contacts it imported stay",
    tag="imports",
    scope="send",
    responses={204: None, 404: None, 409: None},
)
async def delete_import(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.IMPORTS].delete(path_id(request))
    return web.Response(status=204)


@routes.post(r"/api/v1/imports/{id:\d+}/analyse")
@describe(
    "Step 1: analyse the file (writes no contact)",
    tag="imports",
    scope="send",
    body=AnalyseBody,
    responses={200: S.IMPORT_ANALYSIS, 404: None, 409: None, 422: None},
)
async def analyse(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, AnalyseBody) if request.can_read_body else AnalyseBody.model_validate({})
    report = await request.app[keys.IMPORTS].analyse(
        path_id(request),
        sheet=body.sheet,
        has_header=body.has_header,
        header_line=body.header_line,
        mapping=tuple(body.mapping) if body.mapping is not None else None,
    )
    return web.json_response({"import_id": path_id(request), "analysis": report})


@routes.get(r"/api/v1/imports/{id:\d+}/rejects.csv")
@describe(
    "The analysed file's rejected lines (invalid numbers, duplicates) with their reason, as CSV",
    tag="imports",
    scope="read",
    responses={200: files("the rejected lines with their reason", "text/csv"), 404: None, 409: None},
)
async def rejects_csv(request: web.Request) -> web.StreamResponse:
    await require_scope(request, "read")
    header, batches = await request.app[keys.IMPORTS].rejected_rows(path_id(request))
    return await send_download(request, csv_stream(header, batches), "text/csv; charset=utf-8",
                               f"import-{path_id(request)}-rejected.csv")


@routes.post(r"/api/v1/imports/{id:\d+}/commit")
@describe(
    "Step 2: import with the chosen mapping, groups and opt-in certification",
    tag="imports",
    scope="send",
    body=CommitBody,
    responses={200: S.IMPORT_COMMIT, 404: None, 409: None, 422: None},
)
async def commit(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, CommitBody)
    if not body.optin.certified:
        raise InvalidInput("optin.certified", "importing contacts requires certifying that they opted in")
    options = CommitOptions(
        certification=Certification(body.optin.statement, actor(key)),
        mapping=tuple(body.mapping) if body.mapping is not None else None,
        group_ids=tuple(body.groups),
        new_groups=tuple(body.new_groups),
        update_existing=body.on_existing == "update",
        keep_opted_out_contacts=body.opted_out == "keep_contact",
    )
    report = await request.app[keys.IMPORTS].commit(path_id(request), options)
    return web.json_response({"import_id": path_id(request), "report": report})

"""Contact export to CSV (Excel-friendly, formula injection neutralised) and JSON, streamed in batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from gatewayd.clock import utc_iso
from gatewayd.csv_export import csv_stream
from gatewayd.store import contacts as store
from gatewayd.store import groups as group_store
from gatewayd.store.contacts import Contact
from gatewayd.store.db import Database

BASE_COLUMNS = ("mobile", "last_name", "first_name", "email", "language", "optin_source", "optin_at",
                "optin_statement", "optin_by", "groups")


def contact_json(c: Contact) -> dict[str, Any]:
    return {"id": c.id, "mobile": c.mobile, "last_name": c.last_name, "first_name": c.first_name,
            "email": c.email, "language": c.language, "fields": dict(c.fields),
            "optin": {"source": c.optin_source, "at": utc_iso(c.optin_at), "statement": c.optin_statement,
                      "by": c.optin_by},
            "groups": list(c.groups), "created_at": utc_iso(c.created_at), "updated_at": utc_iso(c.updated_at)}


async def _batches(db: Database, group_id: int | None) -> AsyncIterator[list[Contact]]:
    if group_id is None:
        async for page in store.batches(db):
            yield page
        return
    async with db.read() as conn:
        async for page in group_store.member_batches(conn, group_id, size=1000):
            yield page


async def export_csv(db: Database, group_id: int | None = None, *, separator: str = ";") -> AsyncIterator[bytes]:
    """UTF-8 with BOM (Excel opens accents right), one header row, custom fields as extra columns; the
    static groups by name (', ' between them), so the file imports back into any base unchanged."""
    async with db.read() as conn:
        fields = await store.field_names(conn)
        group_names = await group_store.names_by_id(conn)

    async def rows() -> AsyncIterator[list[list[object]]]:
        async for page in _batches(db, group_id):
            yield [[c.mobile, c.last_name, c.first_name, c.email, c.language, c.optin_source, utc_iso(c.optin_at),
                    c.optin_statement, c.optin_by, ", ".join(group_names[g] for g in c.groups if g in group_names),
                    *(c.fields.get(f, "") for f in fields)] for c in page]

    async for chunk in csv_stream([*BASE_COLUMNS, *fields], rows(), separator=separator):
        yield chunk


async def export_json(db: Database, group_id: int | None = None) -> AsyncIterator[bytes]:
    """{"contacts": [...]} written object by object."""
    yield b'{"contacts": ['
    first = True
    async for page in _batches(db, group_id):
        parts = [json.dumps(contact_json(c), ensure_ascii=False) for c in page]
        chunk = ",\n".join(parts)
        yield (chunk if first else ",\n" + chunk).encode("utf-8")
        first = False
    yield b"]}\n"

"""Message templates: title, sending line, text with {variables}."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class Template:
    id: int
    title: str
    line: str | None
    text: str
    created_at: datetime
    updated_at: datetime
    transliterate: bool | None = None  # GSM-7 look-alikes: None = the site default
    defaults: Mapping[str, str] = field(default_factory=dict)  # variable name -> its default value


def _json(defaults: Mapping[str, str] | None) -> str:
    return json.dumps(dict(defaults or {}), ensure_ascii=False, sort_keys=True)


def _row(r: sqlite3.Row) -> Template:
    switch = r["transliterate"]
    return Template(r["id"], r["title"], r["line"], r["text"],
                    parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]),
                    None if switch is None else bool(switch), json.loads(r["defaults"] or "{}"))


async def insert(db: Database, *, title: str, line: str | None, text: str, now: datetime,
                 transliterate: bool | None = None, defaults: Mapping[str, str] | None = None) -> int:
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO templates (title, line, text, transliterate, defaults, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (title, line, text, transliterate, _json(defaults), utc_iso(now), utc_iso(now)))
        return int(cur.lastrowid or 0)


async def update(db: Database, template_id: int, *, title: str, line: str | None, text: str, now: datetime,
                 transliterate: bool | None = None, defaults: Mapping[str, str] | None = None) -> bool:
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE templates SET title = ?, line = ?, text = ?, transliterate = ?, defaults = ?, updated_at = ?"
            " WHERE id = ?", (title, line, text, transliterate, _json(defaults), utc_iso(now), template_id))
        return cur.rowcount == 1


async def delete(db: Database, template_id: int) -> bool:
    """Delete a template no campaign uses; sqlite3.IntegrityError when one does."""
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM templates WHERE id = ?", (template_id,))
        return cur.rowcount == 1


async def get(db: Database, template_id: int) -> Template | None:
    async with db.read() as conn:
        return await get_in(conn, template_id)


async def get_in(conn: aiosqlite.Connection, template_id: int) -> Template | None:
    async with conn.execute("SELECT * FROM templates WHERE id = ?", (template_id,)) as cur:
        r = await cur.fetchone()
    return _row(r) if r else None


async def list_page(db: Database, *, after_id: int = 0, limit: int = 100) -> list[Template]:
    async with db.read() as conn, conn.execute(
            "SELECT * FROM templates WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]

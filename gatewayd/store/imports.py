"""Uploaded files (contact imports and campaign recipient files) and their analysis/commit reports."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class ImportRow:
    id: int
    purpose: str            # contacts | campaign
    filename: str
    path: str
    size: int
    format: str             # csv | txt | xlsx
    state: str              # uploaded | analysed | committed | failed
    analysis: dict[str, Any] | None
    report: dict[str, Any] | None
    created_by: str | None
    created_at: datetime
    committed_at: datetime | None


def _row(r: sqlite3.Row) -> ImportRow:
    return ImportRow(r["id"], r["purpose"], r["filename"], r["path"], r["size"], r["format"], r["state"],
                     json.loads(r["analysis"]) if r["analysis"] else None,
                     json.loads(r["report"]) if r["report"] else None, r["created_by"],
                     parse_iso_required(r["created_at"]), parse_iso(r["committed_at"]))


async def insert(db: Database, *, purpose: str, filename: str, path: str, size: int, fmt: str,
                 created_by: str | None, now: datetime) -> int:
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO imports (purpose, filename, path, size, format, state, created_by, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'uploaded', ?, ?)", (purpose, filename, path, size, fmt, created_by, utc_iso(now)))
        return int(cur.lastrowid or 0)


async def set_path(db: Database, import_id: int, path: str) -> None:
    """Where the upload landed (named after its id, so known only once the row exists)."""
    async with db.write() as conn:
        await conn.execute("UPDATE imports SET path = ? WHERE id = ?", (path, import_id))


async def get(db: Database, import_id: int) -> ImportRow | None:
    async with db.read() as conn:
        return await get_in(conn, import_id)


async def get_in(conn: aiosqlite.Connection, import_id: int) -> ImportRow | None:
    async with conn.execute("SELECT * FROM imports WHERE id = ?", (import_id,)) as cur:
        r = await cur.fetchone()
    return _row(r) if r else None


async def list_page(db: Database, *, after_id: int | None = None, limit: int = 50) -> list[ImportRow]:
    """Newest first (keyset on id)."""
    async with db.read() as conn, conn.execute(
            "SELECT * FROM imports WHERE id < ? ORDER BY id DESC LIMIT ?", (after_id or 2**62, limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def set_analysis(db: Database, import_id: int, analysis: dict[str, Any]) -> None:
    """Store step 1's report; an import already committed keeps its state."""
    async with db.write() as conn:
        await conn.execute(
            "UPDATE imports SET analysis = ?, state = CASE state WHEN 'committed' THEN state ELSE 'analysed' END"
            " WHERE id = ?", (json.dumps(analysis, ensure_ascii=False), import_id))


async def mark_committed(conn: aiosqlite.Connection, import_id: int, report: dict[str, Any], now: datetime) -> bool:
    """Inside the commit's own transaction: False when the import was committed already."""
    cur = await conn.execute(
        "UPDATE imports SET state = 'committed', report = ?, committed_at = ? WHERE id = ? AND state <> 'committed'",
        (json.dumps(report, ensure_ascii=False), utc_iso(now), import_id))
    return cur.rowcount == 1


async def delete(db: Database, import_id: int) -> bool:
    async with db.write() as conn:
        cur = await conn.execute("DELETE FROM imports WHERE id = ?", (import_id,))
        return cur.rowcount == 1


# Campaigns that may still read their recipient file (a finished or canceled one never will again).
_IN_USE = ("SELECT 1 FROM campaigns c WHERE json_extract(c.audience, '$.file') = imports.id"
           " AND c.state IN ('draft', 'scheduled', 'running', 'paused')")


async def in_use_by_campaign(db: Database, import_id: int) -> bool:
    async with db.read() as conn, conn.execute(
            f"SELECT EXISTS ({_IN_USE}) FROM imports WHERE id = ?", (import_id,)) as cur:
        row = await cur.fetchone()
    return bool(row and row[0])


async def expired(db: Database, *, created_before: datetime, limit: int = 500) -> list[ImportRow]:
    """Uploads never committed, older than `created_before`, that no live campaign reads."""
    async with db.read() as conn, conn.execute(
            "SELECT * FROM imports WHERE state <> 'committed' AND created_at < ?"
            f" AND NOT EXISTS ({_IN_USE}) ORDER BY id LIMIT ?", (utc_iso(created_before), limit)) as cur:
        return [_row(r) for r in await cur.fetchall()]


async def bytes_held(db: Database, created_by: str | None) -> int:
    """Bytes of the uploads `created_by` keeps on disk (committed imports' files are gone)."""
    async with db.read() as conn, conn.execute(
            "SELECT coalesce(sum(size), 0) FROM imports WHERE state <> 'committed' AND created_by IS ?",
            (created_by,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0

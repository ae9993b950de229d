"""API keys: rows in `api_keys` (only the hash of a key is stored)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class ApiKeyRow:
    id: int
    name: str
    prefix: str
    secret_hash: str
    scopes: frozenset[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _row(r: sqlite3.Row) -> ApiKeyRow:
    return ApiKeyRow(
        id=r["id"], name=r["name"], prefix=r["prefix"], secret_hash=r["secret_hash"],
        scopes=frozenset(r["scopes"].split()),
        created_at=parse_iso_required(r["created_at"]),
        last_used_at=parse_iso(r["last_used_at"]),
        revoked_at=parse_iso(r["revoked_at"]),
    )


async def insert(db: Database, *, name: str, prefix: str, secret_hash: str, scopes: frozenset[str],
                 now: datetime) -> int:
    async with db.write() as conn:
        cur = await conn.execute(
            "INSERT INTO api_keys (name, prefix, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
            (name, prefix, secret_hash, " ".join(sorted(scopes)), utc_iso(now)),
        )
        return int(cur.lastrowid or 0)


async def by_prefix(db: Database, prefix: str) -> ApiKeyRow | None:
    async with db.read() as conn, conn.execute("SELECT * FROM api_keys WHERE prefix = ?", (prefix,)) as cur:
        r = await cur.fetchone()
    return _row(r) if r else None


async def list_all(db: Database) -> list[ApiKeyRow]:
    async with db.read() as conn, conn.execute("SELECT * FROM api_keys ORDER BY id") as cur:
        return [_row(r) for r in await cur.fetchall()]


async def revoke(db: Database, key_id: int, now: datetime) -> bool:
    async with db.write() as conn:
        cur = await conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (utc_iso(now), key_id)
        )
        return cur.rowcount == 1


async def touch(db: Database, key_id: int, now: datetime) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (utc_iso(now), key_id))

"""Console users: rows in `users` (password hashes only)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database


class DuplicateUser(Exception):
    """A user with that name exists already."""


@dataclass(frozen=True)
class UserRow:
    id: int
    name: str
    password_hash: str
    role: str
    language: str | None
    created_at: datetime
    disabled_at: datetime | None
    default_line: str | None = None  # the line this user writes from when they choose none



def _row(r: sqlite3.Row) -> UserRow:
    return UserRow(
        id=r["id"], name=r["name"], password_hash=r["password_hash"], role=r["role"],
        language=r["language"], created_at=parse_iso_required(r["created_at"]),
        disabled_at=parse_iso(r["disabled_at"]), default_line=r["default_line"],
    )


async def insert(db: Database, *, name: str, password_hash: str, role: str, now: datetime,
                 language: str | None = None) -> int:
    try:
        async with db.write() as conn:
            cur = await conn.execute(
                "INSERT INTO users (name, password_hash, role, language, created_at) VALUES (?, ?, ?, ?, ?)",
                (name, password_hash, role, language, utc_iso(now)),
            )
            return int(cur.lastrowid or 0)
    except sqlite3.IntegrityError:
        raise DuplicateUser(name) from None


async def insert_first_admin(db: Database, *, name: str, password_hash: str, now: datetime,
                             language: str | None = None) -> int | None:
    """Create the admin only while no user exists (first-run race safe); None if too late."""
    async with db.write() as conn:
        async with conn.execute("SELECT COUNT(*) FROM users") as cur:
            row = await cur.fetchone()
        if row and row[0]:
            return None
        cur2 = await conn.execute(
            "INSERT INTO users (name, password_hash, role, language, created_at) VALUES (?, ?, 'admin', ?, ?)",
            (name, password_hash, language, utc_iso(now)),
        )
        return int(cur2.lastrowid or 0)


async def count(db: Database) -> int:
    async with db.read() as conn, conn.execute("SELECT COUNT(*) FROM users") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def by_name(db: Database, name: str) -> UserRow | None:
    async with db.read() as conn, conn.execute("SELECT * FROM users WHERE name = ?", (name,)) as cur:
        r = await cur.fetchone()
    return _row(r) if r else None


async def by_id(db: Database, user_id: int) -> UserRow | None:
    async with db.read() as conn, conn.execute("SELECT * FROM users WHERE id = ?", (user_id,)) as cur:
        r = await cur.fetchone()
    return _row(r) if r else None


async def list_all(db: Database) -> list[UserRow]:
    async with db.read() as conn, conn.execute("SELECT * FROM users ORDER BY name") as cur:
        return [_row(r) for r in await cur.fetchall()]


async def set_password(db: Database, user_id: int, password_hash: str) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


async def set_language(db: Database, user_id: int, language: str | None) -> None:
    async with db.write() as conn:
        await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))


async def set_role_and_state(db: Database, user_id: int, *, role: str, disabled_at: datetime | None) -> bool:
    """Change a user's role and enabled state unless that leaves no enabled admin; False if refused."""
    async with db.write() as conn:
        async with conn.execute("SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled_at IS NULL AND id <> ?",
                                (user_id,)) as cur:
            row = await cur.fetchone()
        other_admins = int(row[0]) if row else 0
        if other_admins == 0 and (role != "admin" or disabled_at is not None):
            return False
        await conn.execute("UPDATE users SET role = ?, disabled_at = ? WHERE id = ?",
                           (role, utc_iso(disabled_at), user_id))
        return True


async def default_line_in(conn: aiosqlite.Connection, user_id: int) -> str | None:
    async with conn.execute("SELECT default_line FROM users WHERE id = ?", (user_id,)) as cur:
        row = await cur.fetchone()
    return row[0] if row else None


async def set_default_line(db: Database, user_id: int, line: str | None) -> bool:
    """The line `user_id` writes from when they choose none (None: any line); False if no such user."""
    async with db.write() as conn:
        cur = await conn.execute("UPDATE users SET default_line = ? WHERE id = ?", (line, user_id))
        return cur.rowcount > 0

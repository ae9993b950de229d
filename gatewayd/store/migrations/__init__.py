"""Numbered schema migrations (`NNNN_name.sql`) applied in order through PRAGMA user_version."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from gatewayd.store.errors import DatabaseError

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available() -> list[Migration]:
    """Every migration shipped with the package, in order; numbers must be 1..N without gaps."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbering gap: expected {expected:04d}, found {migration.name}")
    return found


async def current_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, *, target: int | None = None) -> list[int]:
    """Apply pending migrations (each atomically, with its version bump); return those applied."""
    migrations = available()
    version = await current_version(conn)
    latest = migrations[-1].version if migrations else 0
    if version > latest:
        raise DatabaseError(f"database schema version {version} is newer than this gatewayd ({latest})")
    applied = []
    for migration in migrations:
        if migration.version <= version or (target is not None and migration.version > target):
            continue
        # executescript commits first; the script carries its own transaction so a failure
        # leaves the previous version intact.
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{migration.sql}\nPRAGMA user_version = {migration.version};\nCOMMIT;"
        )
        applied.append(migration.version)
    return applied

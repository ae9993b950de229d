"""Migrations: numbered, applied once, and an older database keeps its data when upgraded."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from gatewayd.store.db import Database, DatabaseError
from gatewayd.store.migrations import available, current_version, migrate


def test_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in available()]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) >= 2


async def test_an_old_database_is_upgraded_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    # A database as the first release left it: schema version 1 with a user and an opt-out.
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        assert await migrate(conn, target=1) == [1]
        await conn.execute("INSERT INTO users (name, password_hash, role, created_at)"
                           " VALUES ('ann', 'x', 'admin', '2026-01-01T00:00:00Z')")
        await conn.execute("INSERT INTO opt_out_events (number, action, source, created_at)"
                           " VALUES ('+33612345678', 'out', 'sms', '2026-01-01T00:00:00Z')")
    db = Database(path)
    await db.open()
    try:
        async with db.read() as conn:
            assert await current_version(conn) == available()[-1].version
            async with conn.execute("SELECT name FROM users") as cur:
                assert [r[0] for r in await cur.fetchall()] == ["ann"]
            async with conn.execute("SELECT number FROM opt_outs_current") as cur:
                assert [r[0] for r in await cur.fetchall()] == ["+33612345678"]
    finally:
        await db.close()


async def test_running_migrations_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    for _ in range(2):
        db = Database(path)
        await db.open()
        await db.close()
    async with aiosqlite.connect(path) as conn:
        assert await migrate(conn) == []
        assert await current_version(conn) == available()[-1].version


async def test_pragmas_are_durable_and_wal(tmp_path: Path) -> None:
    db = Database(tmp_path / "p.db")
    await db.open()
    try:
        async with db.write() as conn:
            values = {}
            for pragma in ("journal_mode", "synchronous", "foreign_keys"):
                async with conn.execute(f"PRAGMA {pragma}") as cur:
                    values[pragma] = (await cur.fetchone())[0]
        assert values == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1}
    finally:
        await db.close()


async def test_a_failed_write_rolls_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "r.db")
    await db.open()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.write() as conn:
                await conn.execute("INSERT INTO settings VALUES ('a', '1', 'now')")
                await conn.execute("INSERT INTO settings VALUES ('a', '2', 'now')")
        async with db.read() as conn, conn.execute("SELECT COUNT(*) FROM settings") as cur:
            assert (await cur.fetchone())[0] == 0
    finally:
        await db.close()


async def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version = 999")
    with pytest.raises(DatabaseError, match="newer"):
        await Database(path).open()
    assert _sqlite_threads() == []  # a refused open closes what it opened


async def test_a_corrupt_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(DatabaseError, match="corrupt.db"):
        await Database(path).open()
    assert _sqlite_threads() == []


def _sqlite_threads() -> list[str]:
    """aiosqlite worker threads still alive (a closed connection's thread ends within moments)."""
    workers = [t for t in threading.enumerate() if "_connection_worker_thread" in t.name]
    for thread in workers:
        thread.join(timeout=5)
    return [t.name for t in workers if t.is_alive()]

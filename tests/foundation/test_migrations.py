"""Migrations: numbered, applied once, and an older database keeps its data when upgraded."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import aiosqlite
import pytest

from gatewayd.store.db import Database
from gatewayd.store.errors import DatabaseError
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


async def _database_at(path: Path, version: int) -> None:
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, target=version)
        await conn.execute("INSERT INTO users (name, password_hash, role, created_at)"
                           " VALUES ('ann', 'x', 'admin', '2026-01-01T00:00:00Z')")


async def test_a_database_is_copied_before_it_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "gatewayd.db"
    await _database_at(path, 1)
    db = Database(path)
    await db.open()
    await db.close()
    latest = available()[-1].version
    copies = list((tmp_path / "backups").glob(f"gatewayd-before-v{latest}-*.db"))
    assert len(copies) == 1 and (copies[0].stat().st_mode & 0o777) == 0o600
    with sqlite3.connect(copies[0]) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT name FROM users").fetchall() == [("ann",)]
    # Opening the migrated database again copies nothing more; a new database is never copied.
    db = Database(path)
    await db.open()
    await db.close()
    fresh = Database(tmp_path / "new" / "gatewayd.db")
    await fresh.open()
    await fresh.close()
    assert len(list((tmp_path / "backups").iterdir())) == 1
    assert not (tmp_path / "new" / "backups").exists()


async def test_systemd_start_timeout_is_extended_while_the_database_is_checked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(str(tmp_path / "notify.sock"))
    listener.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify.sock"))
    await _database_at(tmp_path / "gatewayd.db", 1)
    db = Database(tmp_path / "gatewayd.db")
    await db.open()
    await db.close()
    message = listener.recv(4096).decode()
    listener.close()
    assert message.startswith("EXTEND_TIMEOUT_USEC=") and int(message.split("\n")[0].split("=")[1]) >= 10_000_000
    assert "STATUS=checking and migrating" in message

"""`gatewayd restore` refuses copies that are not intact gatewayd databases, and touches nothing then."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gatewayd import cli
from gatewayd.store.backup import BackupError
from gatewayd.store.daemon_lock import DaemonLock
from gatewayd.store.db import Database
from gatewayd.store.restore import restore_database


def _live_database(path: Path) -> Path:
    async def make() -> None:
        db = Database(path)
        await db.open()
        async with db.write() as conn:
            await conn.execute("INSERT INTO users (name, password_hash, role, created_at)"
                               " VALUES ('ann', 'x', 'admin', '2026-01-01T00:00:00Z')")
        await db.close()
    asyncio.run(make())
    return path


def _names(path: Path) -> list[str]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM users")]


@pytest.mark.parametrize("make_copy, reason", [
    (lambda p: p.write_bytes(b"this is not SQLite" * 100), "not a usable SQLite database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE t (x)").connection.commit(), "not a gatewayd database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE messages (x)").connection.execute(
        "PRAGMA user_version = 999").connection.commit(), "newer than this gatewayd"),
])
def test_a_bad_copy_is_refused_and_the_live_database_kept(tmp_path: Path, make_copy, reason: str) -> None:
    live = _live_database(tmp_path / "gatewayd.db")
    copy = tmp_path / "copy.db"
    make_copy(copy)
    with pytest.raises(BackupError, match=reason):
        restore_database(copy, live)
    assert _names(live) == ["ann"] and not (tmp_path / "backups").exists()


def test_restore_is_refused_while_a_daemon_holds_the_database(tmp_path: Path) -> None:
    live = _live_database(tmp_path / "gatewayd.db")
    copy = tmp_path / "copy.db"
    with sqlite3.connect(live) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)
    daemon = DaemonLock(live)
    assert daemon.acquire()
    try:
        with pytest.raises(BackupError, match="is running"):
            restore_database(copy, live)
    finally:
        daemon.release()
    result = restore_database(copy, live)
    assert result.previous is not None and _names(result.previous / "gatewayd.db") == ["ann"]


def test_cli_restore_of_a_missing_file_exits_1_with_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("gatewayd.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    monkeypatch.setenv("GATEWAYD_HOME", str(tmp_path))
    assert cli.main(["restore", str(tmp_path / "nope.db")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.db is not a file" in err

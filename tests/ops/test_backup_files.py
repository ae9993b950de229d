"""Backup copies are private files, and `backup DIR --keep N` rotates dated copies (the nightly timer)."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from gatewayd import cli
from gatewayd.store.backup import BackupError, backup_database, rotated_backup


def _database(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("INSERT INTO t VALUES ('+33612345678')")
        conn.execute("PRAGMA user_version = 7")
    return path


def test_a_copy_is_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    source = _database(tmp_path / "gatewayd.db")
    old = os.umask(0o022)
    try:
        result = backup_database(source, tmp_path / "copy.db")
    finally:
        os.umask(old)
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert result.schema_version == 7


def test_rotation_keeps_the_newest_copies_and_touches_nothing_else(tmp_path: Path) -> None:
    source = _database(tmp_path / "gatewayd.db")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("mine")
    (backups / "gatewayd-manual.db").write_text("an admin's own copy")
    start = datetime(2026, 12, 1, 3, 15, tzinfo=timezone.utc)
    for day in range(5):
        rotated_backup(source, backups, keep=3, now=start + timedelta(days=day))
    names = sorted(p.name for p in backups.iterdir())
    assert names == ["gatewayd-20261203T031500Z.db", "gatewayd-20261204T031500Z.db",
                     "gatewayd-20261205T031500Z.db", "gatewayd-manual.db", "notes.txt"]
    with sqlite3.connect(backups / "gatewayd-20261205T031500Z.db") as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [("+33612345678",)]


def test_rotation_wants_a_directory(tmp_path: Path) -> None:
    source = _database(tmp_path / "gatewayd.db")
    with pytest.raises(BackupError, match="not a directory"):
        rotated_backup(source, tmp_path / "absent", keep=2)


def test_cli_backup_keep_writes_a_dated_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("gatewayd.config.DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    monkeypatch.setenv("GATEWAYD_HOME", str(tmp_path))
    _database(tmp_path / "gatewayd.db")
    (tmp_path / "backups").mkdir()
    assert cli.main(["backup", "--keep", "2", str(tmp_path / "backups")]) == 0
    copies = list((tmp_path / "backups").glob("gatewayd-*.db"))
    assert len(copies) == 1 and stat.S_IMODE(copies[0].stat().st_mode) == 0o600
    assert cli.main(["backup", "--keep", "0", str(tmp_path / "backups")]) == 2
    assert "--keep" in capsys.readouterr().err

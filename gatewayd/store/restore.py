"""`gatewayd restore PATH`: check a backup copy, then swap it in for the database, daemon stopped."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from gatewayd.store.backup import BackupError, backup_database
from gatewayd.store.daemon_lock import DaemonLock
from gatewayd.store.migrations import available

SIDE_FILES = ("", "-wal", "-shm")  # a WAL beside a restored file must never be replayed into it


@dataclass(frozen=True)
class RestoreResult:
    schema_version: int
    previous: Path | None   # where the replaced database (with its -wal/-shm) was moved


def check_copy(copy: Path) -> int:
    """The copy's schema version, once it has proved to be an intact gatewayd database this code can open."""
    if not copy.is_file():
        raise BackupError(f"{copy} is not a file")
    try:
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA integrity_check").fetchone()
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{copy} is not a usable SQLite database: {exc}") from None
    if not check or check[0] != "ok":
        raise BackupError(f"{copy} failed its integrity check: {check[0] if check else '?'}")
    if version == 0 or "messages" not in tables:
        raise BackupError(f"{copy} is not a gatewayd database (schema version {version})")
    latest = available()[-1].version
    if version > latest:
        raise BackupError(f"{copy} has schema version {version}, newer than this gatewayd ({latest}): "
                          "upgrade gatewayd first")
    return version


def restore_database(copy: Path, database: Path, *, now: datetime | None = None) -> RestoreResult:
    """Check `copy`, move the current database aside (to backups/before-restore-<time>/) and put
    a fresh copy of `copy` in its place with the data directory's owner. Refused while a daemon
    holds the database's lock. The daemon migrates an older copy when it starts."""
    version = check_copy(copy)
    lock = DaemonLock(database)
    if not lock.acquire():
        pid = lock.holder()
        raise BackupError(f"gatewayd is running on {database}{f' (pid {pid})' if pid else ''}: "
                          "stop it first (systemctl stop gatewayd)")
    try:
        previous = _move_aside(database, now or datetime.now(timezone.utc))
        try:
            backup_database(copy, database)
        except BaseException:
            if previous is not None:
                for suffix in SIDE_FILES:
                    moved = previous / (database.name + suffix)
                    if moved.exists():
                        os.replace(moved, database.with_name(database.name + suffix))
            raise
        _give_to_directory_owner(database)
        return RestoreResult(version, previous)
    finally:
        lock.release()


def _move_aside(database: Path, now: datetime) -> Path | None:
    present = [database.with_name(database.name + s) for s in SIDE_FILES
               if database.with_name(database.name + s).exists()]
    if not present:
        return None
    aside = database.parent / "backups" / f"before-restore-{now.strftime('%Y%m%dT%H%M%SZ')}"
    try:
        aside.mkdir(parents=True, mode=0o700)
        for path in present:
            os.replace(path, aside / path.name)
    except OSError as exc:
        raise BackupError(f"cannot move the current database aside to {aside}: {exc.strerror}") from None
    return aside


def _give_to_directory_owner(database: Path) -> None:
    # Run as root (sudo gatewayd restore …), the new file would belong to root and the daemon,
    # running as gatewayd, could not write it.
    if os.geteuid() != 0:
        return
    owner = database.parent.stat()
    os.chown(database, owner.st_uid, owner.st_gid)

"""Consistent online copies of the database through SQLite's backup API."""

from __future__ import annotations

import contextlib
import os
import re
from datetime import datetime, timezone
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewayd.problems import Problem


class BackupError(Exception):
    """The copy could not be written or failed its integrity check; `problem` is its stable code
    when a console user may read it (the command line prints the English)."""

    def __init__(self, detail: str = "", *, code: str | None = None, **params: Any) -> None:
        self.problem = Problem(code, "", params) if code is not None else None
        super().__init__(self.problem.english() if self.problem is not None else detail)


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size_bytes: int
    schema_version: int


def backup_database(source: Path, destination: Path, *, pages_per_step: int = -1) -> BackupResult:
    """Copy `source` to `destination` while other connections keep writing (WAL), atomically.

    The copy is written beside the destination, checked with `PRAGMA integrity_check`, then
    renamed into place, so a failed or interrupted backup never leaves a half-written file.
    By default the whole file is copied in one step, inside one read snapshot: in WAL mode that
    blocks no writer, whereas a copy in several steps starts over whenever another connection
    commits between two steps, so on a busy daemon it might never finish.
    """
    destination = destination.absolute()
    if destination.is_dir():
        destination = destination / "gatewayd-backup.db"
    tmp = destination.with_name(f".{destination.name}.partial")
    try:
        # A copy holds every number and text: owner-only from its first byte, whatever the umask
        # (SQLite gives its journal the database file's mode).
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=10)
        try:
            dst = sqlite3.connect(tmp)
            try:
                src.backup(dst, pages=pages_per_step)
                check = dst.execute("PRAGMA integrity_check").fetchone()
                version = int(dst.execute("PRAGMA user_version").fetchone()[0])
                dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            finally:
                dst.close()
        finally:
            src.close()
        if not check or check[0] != "ok":
            raise BackupError(code="backup.integrity", detail=check[0] if check else "?")
        os.replace(tmp, destination)
    except sqlite3.Error as exc:
        raise BackupError(code="backup.failed", path=str(source), error=str(exc)) from None
    except OSError as exc:
        raise BackupError(code="backup.cannot_write", path=str(destination), reason=exc.strerror or "") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return BackupResult(destination, destination.stat().st_size, version)


ROTATED_NAME = re.compile(r"^gatewayd-\d{8}T\d{6}Z\.db$")


def rotated_backup(source: Path, directory: Path, keep: int, *, now: datetime | None = None) -> BackupResult:
    """Write `gatewayd-<UTC time>.db` into `directory`, then delete all but the `keep` newest such copies.

    Only files named like ours are ever deleted, and only after the new copy passed its check."""
    if keep < 1:
        raise BackupError("--keep must be at least 1")
    if not directory.is_dir():
        raise BackupError(f"{directory} is not a directory (--keep writes dated copies into one)")
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    result = backup_database(source, directory / f"gatewayd-{stamp}.db")
    copies = sorted(p for p in directory.iterdir() if ROTATED_NAME.match(p.name))
    for old in copies[:-keep]:
        old.unlink(missing_ok=True)
    return result

"""The SQLite database: pragmas, integrity check, migrations, one writer and one reader connection.

Every write goes through `Database.write()`: a short `BEGIN IMMEDIATE` transaction on the single
writer connection, serialised by an asyncio lock, so writers never meet SQLITE_BUSY among
themselves. WAL lets the reader connection (and other processes such as `gatewayd backup`) read
while a write is in progress. `synchronous=FULL` makes every commit survive a power cut.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

import aiosqlite

from gatewayd.store.backup import BackupError, backup_database
from gatewayd.store.errors import DatabaseError, DiskFull
from gatewayd.store.migrations import available, current_version, migrate
from gatewayd.ops.systemd import start_timeout_extended

log = logging.getLogger(__name__)


# SQLITE_FULL (ENOSPC) and SQLITE_IOERR (e.g. EFBIG past a file-size limit, a failing SD card):
# the disk would not take the write. Primary result codes, low byte of the extended code.
_STORAGE_CODES = {13, 10}


RESERVE_BYTES = 4_000_000
T = TypeVar("T")


def _free_space(path: Path) -> str:
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return "free space unknown"
    return f"{st.f_bavail * st.f_frsize / 1e6:.1f} MB free on its disk"


@dataclass(frozen=True)
class StorageUsage:
    """Bytes the database takes on disk (main file + write-ahead log) and bytes left on its disk."""

    database_bytes: int
    wal_bytes: int
    free_bytes: int


class Database:
    """One SQLite file with a serialised writer and a read-only reader."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self.write_failure: str | None = None   # why writes fail now (disk full), else None
        # Space set aside on the database's disk, given up on a full disk so that signing in (and
        # then freeing space) still works: see essential_write.
        self.reserve_path = self.path.with_name(self.path.name + ".reserve")

    async def open(self) -> None:
        """Open, check integrity and migrate; raise DatabaseError with a readable reason."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        try:
            self._writer = await self._connect()
            await self._writer.execute("PRAGMA journal_mode=WAL")
            async with start_timeout_extended(f"checking and migrating {self.path}"):
                await self._check_integrity(self._writer)
                await self._copy_before_migrating(self._writer)
                applied = await migrate(self._writer)
            if applied:
                log.info("database %s migrated to version %d", self.path, applied[-1])
            self._reader = await self._connect()
            await self._reader.execute("PRAGMA query_only=ON")
            self._make_reserve()
        except sqlite3.DatabaseError as exc:
            await self.close()
            raise DatabaseError(f"cannot open database {self.path}: {exc}") from None
        except BaseException:
            # An open connection left behind keeps a non-daemon thread alive: the process never exits.
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            for pragma in (
                "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
                f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}",
            ):
                await conn.execute(pragma)
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _copy_before_migrating(self, conn: aiosqlite.Connection) -> None:
        """A database about to be migrated is first copied to backups/ next to it, so an upgrade
        that goes wrong can be undone with `gatewayd restore`."""
        version = await current_version(conn)
        latest = available()[-1].version
        if version == 0 or version >= latest:
            return  # a new database has nothing to lose; a newer one is refused by migrate()
        directory = self.path.parent / "backups"
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        destination = directory / f"gatewayd-before-v{latest}-{stamp}.db"
        try:
            directory.mkdir(mode=0o700, exist_ok=True)
            result = await asyncio.to_thread(backup_database, self.path, destination)
        except (OSError, BackupError) as exc:
            raise DatabaseError(f"cannot copy {self.path} before migrating it to version {latest}: {exc}") from None
        log.info("database %s (schema %d) copied to %s before migrating", self.path, version, result.path)

    async def _check_integrity(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute("PRAGMA integrity_check") as cur:
            rows = [r[0] for r in await cur.fetchall()]
        if rows != ["ok"]:
            raise DatabaseError(f"integrity check of {self.path} failed: {'; '.join(rows[:3])}")

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                try:
                    await conn.close()
                except Exception:  # closing must not mask the reason we are closing
                    log.exception("error closing database connection")
        self._reader = self._writer = None

    @asynccontextmanager
    async def write(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short write transaction (BEGIN IMMEDIATE … COMMIT, ROLLBACK on error)."""
        conn = self._require(self._writer)
        async with self._write_lock:
            try:
                await conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    # SQLite may already have rolled back (an I/O error mid-transaction): a ROLLBACK
                    # then fails with "no transaction is active" and would hide the real error.
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
                try:
                    await conn.execute("COMMIT")
                except sqlite3.Error:
                    # A failed COMMIT may leave the transaction open: that would block every writer.
                    if conn.in_transaction:
                        await conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                if getattr(exc, "sqlite_errorcode", 0) & 0xFF in _STORAGE_CODES:
                    raise self._disk_full(exc) from exc
                raise
        if self.write_failure is not None:
            log.warning("database %s: writes work again", self.path)
            self.write_failure = None
            self._make_reserve()

    async def essential_write(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        """A write that must succeed even on a full disk (a sign-in: without it nobody can log in to
        free space). On DiskFull the reserve file is given up, once, and the write tried again."""
        try:
            async with self.write() as conn:
                return await work(conn)
        except DiskFull:
            if not self.release_reserve():
                raise
        async with self.write() as conn:
            return await work(conn)

    def release_reserve(self) -> bool:
        """Delete the reserve file; False when there was none."""
        try:
            self.reserve_path.unlink()
        except OSError:
            return False
        log.error("database %s: disk full, the %d MB reserve was given up so that sign-in keeps working;"
                  " free some space", self.path, RESERVE_BYTES // 1_000_000)
        return True

    def _make_reserve(self) -> None:
        """Set RESERVE_BYTES aside, when the disk has room for it several times over (best effort)."""
        try:
            if self.reserve_path.exists():
                return
            st = os.statvfs(self.path.parent)
            if st.f_bavail * st.f_frsize < 4 * RESERVE_BYTES:
                return
            with self.reserve_path.open("wb") as fh:
                os.posix_fallocate(fh.fileno(), 0, RESERVE_BYTES)
        except OSError as exc:
            log.warning("cannot set aside %s: %s", self.reserve_path, exc.strerror)
            self.reserve_path.unlink(missing_ok=True)

    async def data_version(self) -> int:
        """A number that changes whenever a write was committed since it was last read (SQLite's
        data_version of the reader connection, which never writes itself): equal values mean that
        nothing in the database changed in between."""
        async with self._require(self._reader).execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    @asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """The reader connection (query_only); sees every committed write."""
        yield self._require(self._reader)

    def _disk_full(self, exc: sqlite3.Error) -> DiskFull:
        detail = f"cannot write to the database {self.path} ({_free_space(self.path)}): {exc}"
        if self.write_failure is None:
            log.error("%s; new work is refused until writes succeed again", detail)
        self.write_failure = detail
        return DiskFull(detail)

    def usage(self) -> StorageUsage:
        """Sizes from the file system (0 for a file that does not exist yet)."""
        def size(path: Path) -> int:
            try:
                return path.stat().st_size
            except OSError:
                return 0

        try:
            st = os.statvfs(self.path.parent)
            free = st.f_bavail * st.f_frsize
        except OSError:
            free = 0
        return StorageUsage(size(self.path), size(self.path.with_name(self.path.name + "-wal")), free)

    async def ping(self) -> bool:
        """True when a trivial query answers (health check)."""
        try:
            async with self.read() as conn, conn.execute("SELECT 1") as cur:
                return (await cur.fetchone()) is not None
        except Exception:
            return False

    @staticmethod
    def _require(conn: aiosqlite.Connection | None) -> aiosqlite.Connection:
        if conn is None:
            raise DatabaseError("database is not open")
        return conn

"""The store on a disk that says "database or disk is full" (SQLITE_FULL): the write fails as
DiskFull naming the file, nothing of it is kept, and the single writer is free for the next one.

SQLite's own page limit (max_page_count) stands in for the disk here: it fails a write with the very
result code a full disk gives (ENOSPC becomes SQLITE_FULL), which the process test cannot produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd.store.db import Database
from gatewayd.store.errors import DiskFull


async def test_sqlite_full_is_disk_full_and_the_writer_recovers(tmp_path: Path) -> None:
    db = Database(tmp_path / "gatewayd.db")
    await db.open()
    try:
        async with db.write() as conn:
            await conn.execute("CREATE TABLE t(x TEXT)")
            await conn.execute("INSERT INTO t VALUES ('kept')")
        async with db.read() as conn, conn.execute("PRAGMA page_count") as cur:
            pages = (await cur.fetchone())[0]
        async with db.write() as conn:
            await conn.execute(f"PRAGMA max_page_count={pages}")
        with pytest.raises(DiskFull) as caught:
            async with db.write() as conn:
                await conn.execute("INSERT INTO t VALUES ('first')")
                await conn.execute("INSERT INTO t VALUES (hex(randomblob(200000)))")  # needs new pages
        assert "database or disk is full" in str(caught.value) and str(db.path) in str(caught.value)
        assert db.write_failure is not None
        async with db.write() as conn:  # not stuck in a half-open transaction
            await conn.execute("PRAGMA max_page_count=1073741823")
            await conn.execute("INSERT INTO t VALUES ('after')")
        assert db.write_failure is None
        async with db.read() as conn, conn.execute("SELECT x FROM t ORDER BY rowid") as cur:
            assert [r[0] for r in await cur.fetchall()] == ["kept", "after"]
        async with db.read() as conn, conn.execute("PRAGMA integrity_check") as cur:
            assert [r[0] for r in await cur.fetchall()] == ["ok"]
    finally:
        await db.close()

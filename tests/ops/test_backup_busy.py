"""An online backup finishes while another connection commits all the time, and is a consistent snapshot."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from gatewayd.store.backup import backup_database

ROWS = 40_000  # ~40 MB, ~10,000 pages: many steps of the 1,024 pages a step used to copy


def test_backup_finishes_under_a_steady_stream_of_commits(tmp_path: Path) -> None:
    source = tmp_path / "busy.db"
    with sqlite3.connect(source) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")
        conn.executemany("INSERT INTO t (payload) VALUES (?)", ((b"x" * 1000,) for _ in range(ROWS)))

    stop = threading.Event()
    commits = 0

    def writer() -> None:
        nonlocal commits
        conn = sqlite3.connect(source, isolation_level=None)
        try:
            while not stop.is_set():
                conn.execute("INSERT INTO t (payload) VALUES (x'01')")  # one commit every few milliseconds
                commits += 1
                stop.wait(0.005)
        finally:
            conn.close()

    result: dict[str, object] = {}

    def backup() -> None:
        result["done"] = backup_database(source, tmp_path / "copy.db")

    writing = threading.Thread(target=writer, daemon=True)
    writing.start()
    copying = threading.Thread(target=backup, daemon=True)
    copying.start()
    copying.join(30)
    finished = "done" in result
    stop.set()
    writing.join(10)
    copying.join(30)
    assert finished, "the backup kept starting over while the writer committed"
    assert commits > 0

    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        count, last = copy.execute("SELECT COUNT(*), MAX(id) FROM t").fetchone()
    assert count == last >= ROWS  # a snapshot: every row up to some commit, none missing in between
    assert not list(tmp_path.glob(".copy.db.partial*"))

"""Group commit over a real SQLite file: concurrent callers share one transaction, merged callers
share one call, and a failure stays with the caller that caused it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from gatewayd.clock import SystemClock
from gatewayd.errors import InvalidInput
from gatewayd.outbound.groupcommit import GroupCommit
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.outbound.service import OutboundService
from gatewayd.store import messages as message_store
from gatewayd.store.db import Database
from tests.outbound.conftest import make_settings


@pytest.fixture(autouse=True)
async def numbers_table(db: Database) -> None:
    async with db.write() as conn:
        await conn.execute("CREATE TABLE numbers (n INTEGER PRIMARY KEY)")


async def stored(db: Database) -> list[int]:
    async with db.read() as conn:
        return [r[0] for r in await conn.execute_fetchall("SELECT n FROM numbers ORDER BY n")]


class Inserter:
    """A merge function that records how many items each call received."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    async def __call__(self, conn: aiosqlite.Connection, items: list[Any]) -> list[Any]:
        self.calls.append(list(items))
        await conn.executemany("INSERT INTO numbers (n) VALUES (?)", [(n,) for n in items])
        return [n * 10 for n in items]


async def test_concurrent_merged_callers_share_one_call_and_one_commit(db: Database) -> None:
    group, merge = GroupCommit(db), Inserter()
    results = await asyncio.gather(*(group.run_merged(merge, n) for n in range(1, 21)))
    assert results == [n * 10 for n in range(1, 21)]
    assert merge.calls == [list(range(1, 21))]
    assert (group.transactions, group.calls) == (1, 20)
    assert await stored(db) == list(range(1, 21))


async def test_a_failing_item_fails_only_its_caller(db: Database) -> None:
    group, merge = GroupCommit(db), Inserter()
    await group.run_merged(merge, 7)
    outcomes = await asyncio.gather(*(group.run_merged(merge, n) for n in (5, 6, 7, 8)), return_exceptions=True)
    assert outcomes[:2] == [50, 60] and outcomes[3] == 80
    assert isinstance(outcomes[2], sqlite3.IntegrityError)
    # The shared call failed as a whole, then each item ran alone in the same transaction.
    assert merge.calls[1] == [5, 6, 7, 8] and merge.calls[2:] == [[5], [6], [7], [8]]
    assert await stored(db) == [5, 6, 7, 8]


async def test_own_work_and_merged_work_commit_together_and_fail_apart(db: Database) -> None:
    group, merge = GroupCommit(db), Inserter()

    async def broken(conn: aiosqlite.Connection) -> None:
        await conn.execute("INSERT INTO numbers (n) VALUES (100)")
        raise RuntimeError("caller's own bug")

    async def fine(conn: aiosqlite.Connection) -> str:
        await conn.execute("INSERT INTO numbers (n) VALUES (200)")
        return "ok"

    outcomes = await asyncio.gather(group.run_merged(merge, 1), group.run(broken), group.run(fine),
                                    group.run_merged(merge, 2), return_exceptions=True)
    assert outcomes[0] == 10 and outcomes[2] == "ok" and outcomes[3] == 20
    assert isinstance(outcomes[1], RuntimeError)
    assert merge.calls == [[1, 2]] and group.transactions == 1
    assert await stored(db) == [1, 2, 200]  # the broken caller's row was rolled back alone


async def test_a_merge_answering_the_wrong_number_of_results_is_retried_one_by_one(db: Database) -> None:
    group = GroupCommit(db)
    calls: list[list[int]] = []

    async def short(conn: aiosqlite.Connection, items: list[Any]) -> list[Any]:
        calls.append(list(items))
        await conn.executemany("INSERT INTO numbers (n) VALUES (?)", [(n,) for n in items])
        return items[:1]

    assert await asyncio.gather(*(group.run_merged(short, n) for n in (1, 2, 3))) == [1, 2, 3]
    assert calls == [[1, 2, 3], [1], [2], [3]]
    assert await stored(db) == [1, 2, 3]  # the short call's rows were rolled back, not doubled


async def test_a_failed_commit_fails_every_caller_of_the_batch(db: Database, tmp_path: Path) -> None:
    group, merge = GroupCommit(db), Inserter()
    # Another connection holds the write lock beyond the busy timeout: BEGIN IMMEDIATE fails.
    blocker = sqlite3.connect(tmp_path / "gatewayd.db", timeout=0.1)
    blocker.execute("BEGIN IMMEDIATE")
    await db._require(db._writer).execute("PRAGMA busy_timeout = 50")  # noqa: SLF001 (test only)
    try:
        outcomes = await asyncio.gather(group.run_merged(merge, 1), group.run_merged(merge, 2),
                                        return_exceptions=True)
    finally:
        blocker.rollback()
        blocker.close()
    assert all(isinstance(o, sqlite3.OperationalError) for o in outcomes), outcomes
    assert await stored(db) == []
    assert await group.run_merged(merge, 3) == 30  # the group commit goes on afterwards


# ------------------------------------------------------------------ OutboundService.accept merges


def new(to: str, text: str = "Votre colis arrive demain") -> NewMessage:
    return NewMessage(to=to, text=text, category=Category.TRANSACTIONAL, source="api")


async def test_concurrent_accepts_get_their_own_ids_and_one_bad_caller_fails_alone(db: Database,
                                                                                   tmp_path: Path) -> None:
    service = OutboundService(db, make_settings(tmp_path), SystemClock())
    batches = [[new(f"+336{k:02d}00{i:04d}") for i in range(k % 3 + 1)] for k in range(12)]
    bad = [new("+33611111111"), new("+33622222222", text="")]
    outcomes = await asyncio.gather(*(service.accept(b) for b in batches[:6]), service.accept(bad),
                                    *(service.accept(b) for b in batches[6:]), return_exceptions=True)
    error = outcomes.pop(6)
    assert isinstance(error, InvalidInput) and error.errors[0].field == "messages[1].text"
    assert service.group.transactions == 1
    async with db.read() as conn:
        rows = {r.id: r for r in await message_store.list_page(conn, limit=1000)}
    assert len(rows) == sum(len(b) for b in batches)  # nothing of the bad caller was stored
    for batch, receipt in zip(batches, outcomes, strict=True):
        assert not isinstance(receipt, BaseException), receipt
        assert len(receipt.ids) == len(batch) and receipt.states == ("queued",) * len(batch)
        assert [rows[i].to for i in receipt.ids] == [m.to for m in batch] == list(receipt.to)

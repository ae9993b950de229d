"""Group commit: concurrent callers' write work runs in one shared transaction (one fsync),
each inside its own SAVEPOINT so one caller's failure never undoes another's work."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiosqlite

from gatewayd.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[aiosqlite.Connection], Awaitable[Any]]


class GroupCommit:
    """`await run(work)` returns work's result once it is durably committed."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0     # how many commits served how many calls (bench figures)
        self.calls = 0

    async def run(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, fut))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="outbound-group-commit")
        return await fut

    async def _flush(self) -> None:
        # While one transaction commits, new callers queue up; the next transaction takes them all.
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            done: list[tuple[asyncio.Future[Any], Any, BaseException | None]] = []
            try:
                async with self.db.write() as conn:
                    for work, fut in batch:
                        await conn.execute("SAVEPOINT group_call")
                        try:
                            result = await work(conn)
                        except Exception as exc:  # this caller's problem only
                            await conn.execute("ROLLBACK TO group_call")
                            await conn.execute("RELEASE group_call")
                            done.append((fut, None, exc))
                        else:
                            await conn.execute("RELEASE group_call")
                            done.append((fut, result, None))
            except BaseException as exc:
                # The commit itself failed: nobody's work is durable.
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc if isinstance(exc, Exception) else RuntimeError("canceled"))
                if not isinstance(exc, Exception):
                    for _, fut in self._waiting:
                        if not fut.done():
                            fut.set_exception(RuntimeError("group commit stopped"))
                    self._waiting.clear()
                    raise
                log.exception("group commit failed")
                continue
            self.transactions += 1
            self.calls += len(batch)
            for fut, result, error in done:
                if fut.done():
                    continue
                if error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(result)

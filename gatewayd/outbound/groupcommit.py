"""Group commit: concurrent callers' write work runs in one shared transaction (one fsync),
each inside its own SAVEPOINT so one caller's failure never undoes another's work.

Work that many callers can do in a single call (inserting API messages) is merged: the callers
of one batch share one call, so 30 concurrent POSTs cost a handful of statements, not 30 times
four. If a merged call fails, each caller's part is retried alone and only the culprit fails."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiosqlite

from gatewayd.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
Work = Callable[[aiosqlite.Connection], Awaitable[Any]]
# merge(conn, items) -> one result per item, in order.
Merge = Callable[[aiosqlite.Connection, list[Any]], Awaitable[list[Any]]]


@dataclass(eq=False)
class _Call:
    future: asyncio.Future[Any]
    work: Work | None = None     # a caller's own work, or
    merge: Merge | None = None   # its item for a merged call
    item: Any = None


Outcome = tuple[asyncio.Future[Any], Any, BaseException | None]


class GroupCommit:
    """`await run(work)` returns work's result once it is durably committed."""

    def __init__(self, db: Database, *, max_batch: int = 256) -> None:
        self.db = db
        self.max_batch = max_batch
        self._waiting: list[_Call] = []
        self._flusher: asyncio.Task[None] | None = None
        self.transactions = 0     # how many commits served how many calls (bench figures)
        self.calls = 0

    async def run(self, work: Callable[[aiosqlite.Connection], Awaitable[T]]) -> T:
        return await self._queue(_Call(asyncio.get_running_loop().create_future(), work=work))  # type: ignore[no-any-return]

    async def run_merged(self, merge: Merge, item: Any) -> Any:
        """`merge(conn, [item])[0]` once committed; callers waiting with the same `merge` in the
        same batch share one call of it."""
        return await self._queue(_Call(asyncio.get_running_loop().create_future(), merge=merge, item=item))

    async def _queue(self, call: _Call) -> Any:
        self._waiting.append(call)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="outbound-group-commit")
        return await call.future

    async def _flush(self) -> None:
        # While one transaction commits, new callers queue up; the next transaction takes them all.
        while self._waiting:
            batch, self._waiting = self._waiting[:self.max_batch], self._waiting[self.max_batch:]
            done: list[Outcome] = []
            try:
                async with self.db.write() as conn:
                    merged: dict[Merge, list[_Call]] = {}
                    for call in batch:
                        if call.merge is not None:
                            merged.setdefault(call.merge, []).append(call)
                    for call in batch:
                        if call.work is not None:
                            done.append(await self._alone(conn, call.future, call.work))
                        elif call.merge is not None and call.merge in merged:
                            done += await self._merged(conn, call.merge, merged.pop(call.merge))
            except BaseException as exc:
                # The commit itself failed: nobody's work is durable.
                for call in batch:
                    if not call.future.done():
                        call.future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("canceled"))
                if not isinstance(exc, Exception):
                    for call in self._waiting:
                        if not call.future.done():
                            call.future.set_exception(RuntimeError("group commit stopped"))
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

    @staticmethod
    async def _alone(conn: aiosqlite.Connection, fut: asyncio.Future[Any], work: Work) -> Outcome:
        await conn.execute("SAVEPOINT group_call")
        try:
            result = await work(conn)
        except Exception as exc:  # this caller's problem only
            await conn.execute("ROLLBACK TO group_call")
            await conn.execute("RELEASE group_call")
            return fut, None, exc
        await conn.execute("RELEASE group_call")
        return fut, result, None

    async def _merged(self, conn: aiosqlite.Connection, merge: Merge, calls: list[_Call]) -> list[Outcome]:
        if len(calls) > 1:
            await conn.execute("SAVEPOINT group_merge")
            try:
                results = await merge(conn, [c.item for c in calls])
                if len(results) != len(calls):
                    raise RuntimeError(f"merged work answered {len(results)} results for {len(calls)} calls")
            except Exception:
                await conn.execute("ROLLBACK TO group_merge")
                await conn.execute("RELEASE group_merge")
                log.warning("a merged group-commit call failed; retrying its %d callers one by one", len(calls))
            else:
                await conn.execute("RELEASE group_merge")
                return [(c.future, r, None) for c, r in zip(calls, results, strict=True)]

        async def one(c: aiosqlite.Connection, item: Any) -> Any:
            return (await merge(c, [item]))[0]

        return [await self._alone(conn, call.future, functools.partial(one, item=call.item)) for call in calls]

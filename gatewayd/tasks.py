"""Owning background tasks: waits with a timeout that never lose a cancellation, and stops that
never wait for ever.

Why not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives while the
awaited thing completes (the inner future is done, so it returns its result instead of raising;
fixed in 3.12). A background loop of the shape `while True: ... await wait_for(event.wait(), t)`
then carries on after its owner cancelled it, and the owner's `await task` waits for ever: a
daemon that never stops. `asyncio.timeout()` cancels the awaiting task itself and counts
cancellations, so an outside cancel always wins.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a component's stop may spend waiting for its tasks once they are cancelled.
STOP_BUDGET_S = 3.0


async def wait_event(event: asyncio.Event, timeout: float | None) -> bool:
    """True once `event` is set, False when `timeout` seconds passed first (None: no limit)."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def within(timeout: float | None, awaitable: Awaitable[T]) -> T:
    """`await awaitable`, raising TimeoutError after `timeout` seconds (asyncio.wait_for without
    its lost cancellations)."""
    async with asyncio.timeout(timeout):
        return await awaitable


async def stop_tasks(tasks: Iterable[asyncio.Future[Any] | None], *,
                     budget: float = STOP_BUDGET_S, what: str = "tasks") -> bool:
    """Cancel `tasks` and wait for them to end, at most `budget` seconds: True when all ended.

    A task still running halfway through the budget is cancelled again (a library may have
    swallowed the first cancel); one still running at the end is logged and left, so the caller
    goes on stopping the rest of the daemon instead of hanging."""
    pending = {t for t in tasks if t is not None}
    everything = set(pending)
    pending = {t for t in pending if not t.done()}
    for task in pending:
        task.cancel()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    if pending:
        _, pending = await asyncio.wait(pending, timeout=budget / 2)
    if pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=max(0.0, deadline - loop.time()))
    for task in everything - pending:
        # Retrieve every outcome so none is reported later as "never retrieved".
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s: %r ended with %r", what, _name(task), exc)
    if pending:
        log.error("%s still running %.1f s after being cancelled, left behind: %s", what, budget,
                  ", ".join(sorted(_name(t) for t in pending)))
        return False
    return True


def _name(task: asyncio.Future[Any]) -> str:
    return task.get_name() if isinstance(task, asyncio.Task) else repr(task)

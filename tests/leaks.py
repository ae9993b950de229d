"""The lingering-task check behind tests/conftest.py's autouse fixture `no_lingering_tasks`."""

from __future__ import annotations

import asyncio

# Tasks a library starts and owns on the test's loop, by name prefix: none today. A task of
# ours left running is a bug (it outlives its owner's stop) and is never whitelisted here.
LIBRARY_TASKS: tuple[str, ...] = ()


def lingering(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    """Tasks of the running loop still running that were not there `before` (the caller excluded)."""
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() - before
            if t is not current and not t.done() and not t.get_name().startswith(LIBRARY_TASKS)]


def describe(task: asyncio.Task[object]) -> str:
    """The task's name and the coroutine it runs, to find its owner."""
    coro = task.get_coro()
    where = getattr(coro, "__qualname__", repr(coro))
    return f"{task.get_name()} ({where})"

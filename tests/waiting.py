"""Waiting in tests: on a condition with a timeout, never on a fixed sleep standing in for "it has
happened" (a fixed sleep is either too long, which slows the suite, or too short under load).

`until()` is the one polling helper of the suite; `settled()` waits for the dispatcher to have
done everything it can (its idle event) instead of giving it some time."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

POLL_S = 0.01


async def until(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> None:
    """Return once `predicate()` (a plain or an async function) is true; AssertionError naming
    `what` after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(POLL_S)


async def until_value(fetch: Callable[[], Awaitable[Any]], done: Callable[[Any], bool], timeout: float = 10.0,
                      what: str = "value") -> Any:
    """Fetch until `done(value)`; the value (AssertionError with the last one after `timeout`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await fetch()
        if done(value):
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}; last: {value!r}")
        await asyncio.sleep(POLL_S)


async def settled(dispatcher: Any, timeout: float = 10.0) -> None:
    """Wake the dispatcher and wait until it is idle again: every message it could send now has
    been handed to a modem and its outcome committed (what the rest may wait for: quiet hours,
    spacing, a send time)."""
    dispatcher.wake()
    try:
        async with asyncio.timeout(timeout):
            await dispatcher.idle.wait()
    except TimeoutError:
        raise AssertionError(f"the dispatcher was still busy after {timeout:g} s") from None

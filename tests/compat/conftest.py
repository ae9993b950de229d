"""Compat test kit: the whole app over simulated modems (tests.outbound.conftest.gateway), driven by
the real client packages (Apprise, android-sms-gateway), plus a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.outbound.conftest import Gateway
from tests.waiting import until_value

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _apprise_pools() -> Iterator[None]:
    """Apprise keeps module-level worker pools alive between notifications: end them with the test."""
    yield
    from apprise import apprise as hub

    for name in ("_shared_executor", "_coordinator_executor"):
        pool = getattr(hub, name, None)
        if pool is not None:
            pool.shutdown(wait=True)
            setattr(hub, name, None)


def base_url(gw: Gateway) -> str:
    server = gw.client.server
    return f"http://127.0.0.1:{server.port}"


async def blocking(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a synchronous client (requests underneath) off the loop that serves it, in a thread
    that ends with the call."""
    with ThreadPoolExecutor(1) as pool:
        return await asyncio.get_running_loop().run_in_executor(pool, functools.partial(call, *args, **kwargs))


async def until_result(fetch: Callable[[], Awaitable[T]], done: Callable[[T], bool], timeout: float = 10.0) -> T:
    """Fetch until `done(result)`; AssertionError with the last result after `timeout` seconds."""
    return await until_value(fetch, done, timeout, "the result")  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """Collects webhook POSTs: (headers, raw body, decoded body)."""

    url: str
    posts: list[tuple[dict[str, str], bytes, Any]] = field(default_factory=list)

    async def wait(self, predicate: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for _, _, body in self.posts:
                if predicate(body):
                    return body
            if loop.time() > deadline:
                raise AssertionError(f"no such webhook within {timeout} s; got {[b for _, _, b in self.posts]}")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    server = TestServer(app, host="127.0.0.1")
    box = Receiver("")

    async def hook(request: web.Request) -> web.Response:
        raw = await request.read()
        box.posts.append((dict(request.headers), raw, json.loads(raw)))
        return web.Response(status=204)

    app.router.add_post("/hook", hook)
    await server.start_server()
    box.url = f"http://127.0.0.1:{server.port}/hook"
    try:
        yield box
    finally:
        await server.close()

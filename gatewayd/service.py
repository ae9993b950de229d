"""Run the daemon: HTTP server, signals, sd_notify, bounded shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from gatewayd import __version__
from gatewayd.app import build_app
from gatewayd.config import Settings
from gatewayd.store.db import DatabaseError
from gatewayd.systemd import notify

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.5  # systemd and the issue allow 5 s from SIGTERM to exit


class StartupError(Exception):
    """The daemon could not start (port in use, database unusable); str() says why."""


async def serve(settings: Settings, *, announce: bool = True) -> None:
    """Run until SIGTERM/SIGINT, then stop every component within the shutdown budget."""
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=logging.getLogger("aiohttp.access"),
                           shutdown_timeout=1.0)
    try:
        await runner.setup()
    except BaseException as exc:
        # Components started before the failure (the database's worker thread, simulated lines)
        # must stop, or the interpreter waits for them for ever instead of exiting.
        with contextlib.suppress(Exception):
            await app.cleanup()
        if isinstance(exc, DatabaseError):
            raise StartupError(str(exc)) from None
        raise
    site = web.TCPSite(runner, settings.http.host, settings.http.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise StartupError(f"cannot listen on {settings.http.host}:{settings.http.port}: {exc.strerror}") from None

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    host = "127.0.0.1" if settings.http.host in ("0.0.0.0", "::") else settings.http.host
    url = f"http://{host}:{settings.http.port}/"
    log.info("gatewayd %s ready: console %s, database %s", __version__, url, settings.storage.database)
    if announce:
        print(f"gatewayd {__version__} is running. Console: {url}  (Ctrl-C to stop)", flush=True)
    notify(f"READY=1\nSTATUS=serving on {settings.http.host}:{settings.http.port}")

    await stop.wait()
    log.info("stopping")
    notify("STOPPING=1")
    try:
        await asyncio.wait_for(runner.cleanup(), timeout=SHUTDOWN_BUDGET_S)
    except asyncio.TimeoutError:
        log.error("shutdown took longer than %.1f s; exiting anyway", SHUTDOWN_BUDGET_S)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.remove_signal_handler(sig)

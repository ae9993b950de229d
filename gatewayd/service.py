"""Run the daemon: HTTP server, signals, sd_notify, bounded shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket

from aiohttp import web

from gatewayd import __version__
from gatewayd.app import build_app
from gatewayd.config import Settings
from gatewayd.store.daemon_lock import DaemonLock
from gatewayd.http_guard import ConnectionGuard, GuardedSite, GuardLimits
from gatewayd.resources import preload_phone_metadata, raise_open_files_limit
from gatewayd.store.errors import DatabaseError
from gatewayd.ops.systemd import notify, open_notify_socket

log = logging.getLogger(__name__)

SHUTDOWN_BUDGET_S = 4.5  # systemd and the issue allow 5 s from SIGTERM to exit


class StartupError(Exception):
    """The daemon could not start (port in use, database unusable); str() says why."""


async def serve(settings: Settings, *, announce: bool = True) -> None:
    """Run until SIGTERM/SIGINT, then stop every component within the shutdown budget."""
    lock = DaemonLock(settings.storage.database)
    try:
        locked = lock.acquire()
    except OSError as exc:
        raise StartupError(f"cannot lock {lock.path}: {exc.strerror}") from None
    if not locked:
        pid = lock.holder()
        raise StartupError(f"another gatewayd{f' (pid {pid})' if pid else ''} is running on {settings.storage.database}")
    try:
        await _serve(settings, announce=announce)
    finally:
        lock.release()


def _bind(host: str, port: int) -> socket.socket:
    """The HTTP socket, bound before anything else starts: a port already taken is reported at
    once, before modems are opened (and reset) for nothing."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


async def _serve(settings: Settings, *, announce: bool) -> None:
    http = settings.http
    nofile = raise_open_files_limit()
    open_notify_socket()  # before anything can run short of descriptors
    preload_phone_metadata()
    guard = ConnectionGuard(GuardLimits.for_descriptors(
        nofile, max_connections=http.max_connections, max_per_address=http.max_connections_per_address,
        header_timeout=http.header_timeout_seconds))
    log.info("open-file limit %d: at most %d connections (%d per address)", nofile,
             guard.limits.max_connections, guard.limits.max_per_address)
    sock = _bind(http.host, http.port)
    app = build_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=logging.getLogger("aiohttp.access"),
                           shutdown_timeout=1.0, keepalive_timeout=http.idle_timeout_seconds)
    try:
        await runner.setup()
    except BaseException as exc:
        sock.close()
        # Components started before the failure (the database's worker thread, simulated lines)
        # must stop, or the interpreter waits for them for ever instead of exiting.
        with contextlib.suppress(Exception):
            await app.cleanup()
        if isinstance(exc, DatabaseError):
            raise StartupError(str(exc)) from None
        raise
    site = GuardedSite(runner, sock, guard)
    try:
        await site.start()
    except OSError as exc:
        sock.close()
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

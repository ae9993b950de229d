"""A cap on open HTTP connections, per client address and in all, with a deadline for request headers.

Without it, anyone on the LAN who opens ~1,000 connections and sends half a request each exhausts
the process's file descriptors: the console, the API and /healthz stop answering and the watchdog
starves. The guard sits between the listening socket and aiohttp's protocol:

- a connection from an address that already holds `max_per_address` is closed at once;
- when `max_connections` are open, the oldest connection still waiting for its request headers is
  closed to make room (a slow-headers attacker loses its slots, a real client gets one); if every
  connection is busy with a request, the newcomer is closed instead;
- a connection that has not sent complete request headers within `header_timeout` is closed.
  Between requests aiohttp's keep-alive timeout (`idle_timeout`) closes idle connections.

The policy (`ConnectionTable`) is pure; `GuardedProtocol` and `GuardedSite` wire it to asyncio.
"""

from __future__ import annotations

import asyncio
import socket
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

HEADERS_END = (b"\r\n\r\n", b"\n\n")


@dataclass(frozen=True)
class GuardLimits:
    max_connections: int
    max_per_address: int
    header_timeout: float
    backlog: int = 128

    @classmethod
    def for_descriptors(cls, nofile: int, *, max_connections: int, max_per_address: int,
                        header_timeout: float) -> GuardLimits:
        """Connections and the accept backlog together take at most half the descriptors: the rest stay
        for the database, the modems, webhook deliveries, uploads and the watchdog, whatever the LAN
        does. (asyncio accepts up to `backlog` sockets in one go before any of them is looked at.)"""
        backlog = max(8, min(128, nofile // 16))
        total = max(8, min(max_connections, nofile // 2 - backlog))
        return cls(total, max(1, min(max_per_address, total)), header_timeout, backlog)


@dataclass(eq=False)
class Connection:
    address: str
    opened_at: float
    close: Callable[[], None]
    awaiting_headers: bool = True
    tail: bytes = b""
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)


class ConnectionTable:
    """Which connections are open and which to close when a new one arrives (no I/O)."""

    def __init__(self, limits: GuardLimits) -> None:
        self.limits = limits
        self.open: dict[Connection, None] = {}  # insertion order = age
        self.per_address: dict[str, int] = {}
        self.refused = 0
        self.evicted = 0

    def admit(self, conn: Connection) -> tuple[bool, Connection | None]:
        """(admitted, connection to close to make room)."""
        if self.per_address.get(conn.address, 0) >= self.limits.max_per_address:
            self.refused += 1
            return False, None
        victim = None
        if len(self.open) >= self.limits.max_connections:
            victim = next((c for c in self.open if c.awaiting_headers), None)
            if victim is None:
                self.refused += 1
                return False, None
            self.evicted += 1
            self.remove(victim)
        self.open[conn] = None
        self.per_address[conn.address] = self.per_address.get(conn.address, 0) + 1
        return True, victim

    def remove(self, conn: Connection) -> None:
        if self.open.pop(conn, False) is None:
            left = self.per_address[conn.address] - 1
            if left:
                self.per_address[conn.address] = left
            else:
                del self.per_address[conn.address]

    @staticmethod
    def saw(conn: Connection, data: bytes) -> bool:
        """Feed received bytes; True when they complete the first request's headers."""
        if not conn.awaiting_headers:
            return False
        window = conn.tail + data
        if any(end in window for end in HEADERS_END):
            conn.awaiting_headers = False
            conn.tail = b""
            return True
        conn.tail = window[-3:]
        return False


class GuardedProtocol(asyncio.Protocol):
    """Wraps aiohttp's per-connection protocol: admission, header deadline, bookkeeping."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._conn: Connection | None = None

    def __getattr__(self, name: str) -> Any:  # asyncio's sendfile fallback talks to the inner protocol
        return getattr(self._inner, name)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else "unix"
        loop = asyncio.get_running_loop()
        conn = Connection(address, loop.time(), transport.abort)  # type: ignore[attr-defined]
        admitted, victim = self._guard.table.admit(conn)
        if victim is not None:
            self._guard.note("closed a connection from %s still waiting for its request headers to make room"
                             " (%d connections open)", victim.address, self._guard.limits.max_connections)
            victim.close()
        if not admitted:
            self._guard.note("refused a connection from %s (connection limit reached)", address)
            transport.abort()  # type: ignore[attr-defined]
            return
        self._conn = conn
        conn.timer = loop.call_later(self._guard.limits.header_timeout, self._headers_late)
        self._inner.connection_made(transport)

    def _headers_late(self) -> None:
        conn = self._conn
        if conn is not None and conn.awaiting_headers:
            self._guard.note("closed a connection from %s: no complete request headers within %.0f s",
                             conn.address, self._guard.limits.header_timeout)
            conn.close()

    def data_received(self, data: bytes) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn.awaiting_headers and self._guard.table.saw(conn, data) and conn.timer is not None:
            conn.timer.cancel()
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._conn is not None else None

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        conn = self._conn
        if conn is None:
            return
        if conn.timer is not None:
            conn.timer.cancel()
        self._guard.table.remove(conn)
        self._conn = None
        self._inner.connection_lost(exc)


class ConnectionGuard:
    def __init__(self, limits: GuardLimits) -> None:
        self.limits = limits
        self.table = ConnectionTable(limits)

    def note(self, message: str, *args: Any) -> None:
        # Identical lines are folded by the log's repeat filter (gatewayd.logging_setup).
        log.warning(message, *args)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: GuardedProtocol(factory(), self)


class GuardedSite(web.SockSite):
    """aiohttp's SockSite with every accepted connection passed through a ConnectionGuard (the socket
    is bound by the caller before anything else starts, so a taken port is reported at once)."""

    def __init__(self, runner: web.AppRunner, sock: socket.socket, guard: ConnectionGuard) -> None:
        super().__init__(runner, sock, backlog=guard.limits.backlog)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner (stopped by runner.cleanup)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self.guard.wrap(server), sock=self._sock, backlog=self.guard.limits.backlog)

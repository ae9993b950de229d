"""sd_notify without a dependency on systemd: READY, STOPPING, STATUS and watchdog pings.

One datagram socket is opened at the first message and kept: a ping must not need a new file
descriptor, or a descriptor shortage (a connection flood) would starve the watchdog and have
systemd restart the daemon in a loop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


_socket: socket.socket | None = None
_socket_address: str | None = None


def _notify_socket(address: str) -> socket.socket:
    global _socket, _socket_address
    if _socket is None or _socket_address != address:
        if _socket is not None:
            _socket.close()
        # Non-blocking: when the manager does not read (its queue full), a ping is dropped rather
        # than the event loop frozen.
        _socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        _socket_address = address
    return _socket


def notify(message: str) -> bool:
    """Send one sd_notify datagram; False (and nothing else) when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        # sendto, not connect: the socket stays usable if systemd re-creates its notify socket.
        _notify_socket(address).sendto(message.encode(), address)
        return True
    except BlockingIOError:
        log.debug("sd_notify to %s dropped: its queue is full", address.lstrip("\0"))
        return False
    except OSError as exc:
        log.warning("sd_notify to %s failed: %s", address.lstrip("\0"), exc)
        return False


def open_notify_socket() -> None:
    """Open the notify socket now, while descriptors are plentiful (no-op outside systemd)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if address:
        _notify_socket("\0" + address[1:] if address.startswith("@") else address)


def watchdog_interval() -> float | None:
    """Seconds between pings (half of WATCHDOG_USEC), or None when no watchdog is armed."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 2_000_000)
    except ValueError:
        return None


async def watchdog_loop(interval: float, healthy: Callable[[], Awaitable[bool]]) -> None:
    """Ping WATCHDOG=1 only while `healthy()` says the loop and the store work."""
    while True:
        await asyncio.sleep(interval)
        try:
            ok = await asyncio.wait_for(healthy(), timeout=interval)
        except (asyncio.TimeoutError, Exception):
            ok = False
        if ok:
            notify("WATCHDOG=1")
        else:
            log.error("health check failed: not feeding the systemd watchdog")


@contextlib.asynccontextmanager
async def start_timeout_extended(status: str, *, period: float = 10.0) -> AsyncIterator[None]:
    """While the block runs, keep pushing systemd's start timeout forward (EXTEND_TIMEOUT_USEC).

    An integrity check or a migration of a large database on an SD card can outlast the default
    90 s start timeout; without this systemd would kill the daemon mid-migration and retry.
    Outside systemd nothing is sent."""
    if not os.environ.get("NOTIFY_SOCKET"):
        yield
        return

    async def keep_extending() -> None:
        while True:
            # Each message sets the deadline to now + the value: two periods leave room for a late one.
            notify(f"EXTEND_TIMEOUT_USEC={int(period * 2 * 1_000_000)}\nSTATUS={status}")
            await asyncio.sleep(period)

    task = asyncio.create_task(keep_extending())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

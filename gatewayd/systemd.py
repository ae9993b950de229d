"""sd_notify without a dependency on systemd: READY, STOPPING, STATUS and watchdog pings."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    """Send one sd_notify datagram; False (and nothing else) when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
        return True
    except OSError as exc:
        log.warning("sd_notify to %s failed: %s", address, exc)
        return False


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

"""Bytes to and from a serial device (pyserial-asyncio), raw traffic logged at TRACE."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import serial
import serial_asyncio

from gatewayd.logging_setup import TRACE
from gatewayd.modem.errors import PortClosedError

log = logging.getLogger(__name__)


async def open_serial(port: str, baudrate: int, protocol: asyncio.Protocol) -> asyncio.Transport:
    """Open `port` (exclusive lock, 8N1, no flow control) and connect `protocol` to it.

    Raises PortClosedError naming the port when it does not exist or cannot be opened.
    """
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await serial_asyncio.create_serial_connection(
            loop, lambda: protocol, port, baudrate=baudrate, exclusive=True,
            rtscts=False, xonxoff=False, dsrdtr=False,
        )
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortClosedError(f"cannot open {port}: {exc}") from exc
    return transport  # type: ignore[no-any-return]


def trace(name: str, direction: str, data: bytes | str) -> None:
    """Log raw modem traffic (only when TRACE is on: escaping every read costs time)."""
    if log.isEnabledFor(TRACE):
        log.log(TRACE, "%s %s %r", name, direction, data)


def close_quietly(transport: Any) -> None:
    """Close a transport, ignoring a device that is already gone."""
    try:
        transport.close()
    except (OSError, serial.SerialException):  # pragma: no cover - depends on the kernel
        pass

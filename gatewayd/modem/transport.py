"""Bytes to and from a serial device (pyserial-asyncio), raw traffic logged at TRACE."""

from __future__ import annotations

import asyncio
import logging
import re
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


# Commands whose arguments are SIM secrets (PIN, PUK, new PIN): entering, changing, lock toggling.
_SECRET = re.compile(rb"(AT\+(?:CPIN|CPWD|CLCK)=)([^\r\n]*)", re.IGNORECASE)
_LINE_END = re.compile(rb"[\r\n]")
# (line, direction) whose secret command was cut by a read boundary: mask until its line ends.
_open_secrets: set[tuple[str, str]] = set()


def redact(stream: tuple[str, str], data: bytes) -> bytes:
    """`data` with every SIM secret replaced by ***; the modem's echo of AT+CPIN="1234" may arrive in
    several reads, so a secret left open at the end of one read masks the start of the next."""
    if stream in _open_secrets:
        end = _LINE_END.search(data)
        if end is None:
            return b"***" if data else data
        _open_secrets.discard(stream)
        data = b"***" + data[end.start():]
    masked = _SECRET.sub(lambda m: m.group(1) + (b"***" if m.group(2) else b""), data)
    last = list(_SECRET.finditer(data))
    if last and _LINE_END.search(data, last[-1].end()) is None:
        _open_secrets.add(stream)
    return masked


def trace(name: str, direction: str, data: bytes | str) -> None:
    """Log raw modem traffic (only when TRACE is on: escaping every read costs time), SIM secrets masked."""
    if log.isEnabledFor(TRACE):
        raw = data.encode("latin-1", "replace") if isinstance(data, str) else bytes(data)
        masked = redact((name, direction), raw)
        shown: bytes | str = masked.decode("latin-1") if isinstance(data, str) else masked
        log.log(TRACE, "%s %s %r", name, direction, shown)


def close_quietly(transport: Any) -> None:
    """Close a transport, ignoring a device that is already gone."""
    try:
        transport.close()
    except (OSError, serial.SerialException):  # pragma: no cover - depends on the kernel
        pass

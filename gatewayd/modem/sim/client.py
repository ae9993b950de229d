"""A tiny raw AT client over a serial path (tests and manual poking; not the daemon's driver)."""

from __future__ import annotations

import asyncio
import os
import re
import tty
from collections.abc import Callable

FINAL = re.compile(r"^(OK|ERROR|NO CARRIER|COMMAND NOT SUPPORT|\+CM[ES] ERROR:.*)$")


class RawAtClient:
    """Opens `path` raw and non-blocking; collects every line the modem says."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.raw = bytearray()       # everything received, untouched
        self._pending = bytearray()  # not yet split into lines
        self.lines: list[str] = []   # every complete non-empty line, in order
        self._cursor = 0             # lines before this were consumed by command()/expect()
        self.closed = False          # EOF/EIO seen: the device went away
        self._event = asyncio.Event()
        asyncio.get_running_loop().add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.closed = True
            asyncio.get_running_loop().remove_reader(self.fd)
            self._event.set()
            return
        self.raw += data
        self._pending += data
        while b"\n" in self._pending:
            line, _, rest = self._pending.partition(b"\n")
            self._pending = bytearray(rest)
            text = line.decode("latin-1").strip("\r")
            if text:
                self.lines.append(text)
        self._event.set()

    def write(self, data: bytes | str) -> None:
        """Send raw bytes; ConnectionError once the device has gone away."""
        try:
            os.write(self.fd, data.encode("latin-1") if isinstance(data, str) else data)
        except OSError as exc:
            self.closed = True
            raise ConnectionError(f"{self.path} went away: {exc}") from exc

    async def _wait(self, predicate: Callable[[], object], timeout: float) -> None:
        async with asyncio.timeout(timeout):
            while not predicate():
                if self.closed:
                    raise ConnectionError(f"{self.path} went away")
                self._event.clear()
                await self._event.wait()

    async def command(self, line: str, timeout: float = 5.0) -> list[str]:
        """Send `line` (with or without "AT") and return the lines up to and including the final
        result, echo excluded."""
        cmd = line if line.upper().startswith("AT") else "AT" + line
        self._cursor = len(self.lines)
        self.write(cmd + "\r")
        return await self._until_final(cmd, timeout)

    async def _until_final(self, echo: str | None, timeout: float) -> list[str]:
        start = self._cursor

        def done() -> bool:
            return any(FINAL.match(x) for x in self.lines[start:])

        await self._wait(done, timeout)
        out: list[str] = []
        for i in range(start, len(self.lines)):
            text = self.lines[i]
            if echo is not None and text == echo:
                continue
            out.append(text)
            if FINAL.match(text):
                self._cursor = i + 1
                break
        return out

    async def send_pdu(self, tpdu_length: int, pdu_hex: str, timeout: float = 5.0) -> list[str]:
        """AT+CMGS=<len>, wait for `> `, type the PDU and Ctrl-Z; the lines up to the final."""
        self._cursor = len(self.lines)
        mark = len(self.raw)
        self.write(f"AT+CMGS={tpdu_length}\r")
        await self._wait(lambda: b"> " in self.raw[mark:] or any(FINAL.match(x) for x in self.lines[self._cursor:]), timeout)
        if b"> " in self.raw[mark:]:
            self.write(pdu_hex + "\x1a")
        return [x for x in await self._until_final(None, timeout)
                if not x.startswith(("AT+CMGS", ">")) and x != pdu_hex]

    async def expect(self, pattern: str, timeout: float = 5.0) -> str:
        """The next unconsumed line matching regex `pattern` (waits for it)."""
        rx = re.compile(pattern)
        found: list[str] = []

        def seen() -> bool:
            for i in range(self._cursor, len(self.lines)):
                if rx.search(self.lines[i]):
                    found.append(self.lines[i])
                    self._cursor = i + 1
                    return True
            return False

        await self._wait(seen, timeout)
        return found[0]

    def close(self) -> None:
        """Release the port (idempotent)."""
        self.closed = True
        if self.fd >= 0:
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)
            self.fd = -1

"""A tiny scripted modem on the master side of a real pty (session tests, before/without the sim)."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import Callable


class FakePeer:
    """Reads command lines ending in CR (or a PDU ending in Ctrl-Z) and answers via `script`."""

    def __init__(self, script: Callable[[str], bytes | None]) -> None:
        self.script = script
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.received: list[str] = []
        self._buf = b""
        asyncio.get_running_loop().add_reader(self.master, self._readable)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except OSError:
            return
        self._buf += data
        while True:
            cut = min((i for i in (self._buf.find(b"\r"), self._buf.find(b"\x1a"), self._buf.find(b"\x1b"))
                       if i >= 0), default=-1)
            if cut < 0:
                return
            item, self._buf = self._buf[:cut + 1], self._buf[cut + 1:]
            text = item.decode("latin-1")
            self.received.append(text)
            answer = self.script(text)
            if answer:
                self.push(answer)

    def push(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.master)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

"""The simulated modem's end of a real pseudo-terminal: raw master fd, stable link, attach state.

The host opens the slave path (or a stable symlink to it). While no host has it open the master
reports a hang-up and whatever the modem says is lost, as on a UART with the cable out. Closing
the master is an unplug: the host's next read gets EOF/EIO and the slave path disappears.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import select
import struct
import termios
import tty
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)
TRACE = 5
ATTACH_POLL = 0.02  # seconds between checks for a host opening the port


class PtyPort:
    """One plug-in of the modem: a fresh pty each time `open()` is called."""

    def __init__(self, name: str, link: Path | None, on_data: Callable[[bytes], None]) -> None:
        self.name = name
        self.link = link
        self.on_data = on_data
        self.slave_path: str | None = None
        self.attached = False        # a host has the slave open
        self._master: int | None = None
        self._out = bytearray()
        self._poller: asyncio.TimerHandle | None = None

    @property
    def is_open(self) -> bool:
        return self._master is not None

    def open(self) -> None:
        """Create the pty (raw, non-blocking) and point the link at its slave."""
        master, slave = os.openpty()
        tty.setraw(master)  # no line discipline: bytes pass untouched (CR stays CR, no tty echo)
        os.set_blocking(master, False)
        self.slave_path = os.ttyname(slave)
        os.close(slave)  # the host opens it by path; until then the master sees a hang-up
        self._master = master
        self._out.clear()
        self.attached = False
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".tmp")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_path)
            tmp.replace(self.link)  # atomic: the path never points at a dead pty while plugged
        self._watch()

    def close(self) -> None:
        """Unplug: close the master (the host reads EOF/EIO) and remove the link."""
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None
        if self._master is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._master)
            loop.remove_writer(self._master)
            os.close(self._master)
            self._master = None
        self.attached = False
        self._out.clear()
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def write(self, data: bytes) -> None:
        """Queue `data` for the host; dropped when no host has the port open."""
        if self._master is None or not self.attached:
            return
        log.log(TRACE, "sim %s -> %r", self.name, data)
        self._out += data
        self._flush()

    async def drained(self, limit: float = 0.5) -> None:
        """Wait (at most `limit` s) until the host has read everything said so far: a modem's last
        reply leaves the wire before a reset takes the port down, and the host sees it.

        The kernel moves written bytes to the host's side asynchronously, so one empty reading
        can come before they arrive: the queue must read empty several times in a row."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        empty = 0
        while self.attached and loop.time() < deadline and empty < 5:
            empty = 0 if self._out or self._unread_by_host() else empty + 1
            await asyncio.sleep(0.005)

    def _unread_by_host(self) -> int:
        """Bytes waiting in the slave's input queue (0 when it cannot be asked)."""
        if self.slave_path is None:
            return 0
        try:
            fd = os.open(self.slave_path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError:
            return 0
        try:
            waiting: int = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            return waiting
        except OSError:
            return 0
        finally:
            os.close(fd)

    def _watch(self) -> None:
        """Read while a host has the slave open; otherwise poll until one opens it."""
        self._poller = None
        if self._master is None:
            return
        poll = select.poll()
        poll.register(self._master, select.POLLHUP)
        loop = asyncio.get_running_loop()
        if any(ev & select.POLLHUP for _, ev in poll.poll(0)):
            self.attached = False
            self._poller = loop.call_later(ATTACH_POLL, self._watch)
            return
        self.attached = True
        loop.add_reader(self._master, self._readable)

    def _readable(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except OSError as exc:
            if exc.errno == errno.EAGAIN:
                return
            data = b""
        if not data:  # EIO: the host closed the port
            asyncio.get_running_loop().remove_reader(self._master)
            self.attached = False
            self._out.clear()
            self._watch()
            return
        log.log(TRACE, "sim %s <- %r", self.name, data)
        self.on_data(data)

    def _flush(self) -> None:
        if self._master is None:
            return
        loop = asyncio.get_running_loop()
        while self._out:
            try:
                n = os.write(self._master, self._out)
            except BlockingIOError:
                loop.add_writer(self._master, self._flush)
                return
            except OSError:
                self._out.clear()
                return
            del self._out[:n]
        loop.remove_writer(self._master)

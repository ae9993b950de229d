"""Logging to stderr for journald: TRACE level for raw modem bytes, phone numbers masked at INFO+."""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import TextIO
import time
from collections.abc import Callable

TRACE = 5
logging.addLevelName(TRACE, "TRACE")

_NUMBER = re.compile(r"(?<![\w+])\+?\d{9,15}(?!\w)")


def _mask_match(match: re.Match[str]) -> str:
    digits = match.group(0)
    return digits[:4] + "•" * (len(digits) - 7) + digits[-3:]


class MaskingFormatter(logging.Formatter):
    """Masks anything that looks like a phone number in records at INFO and above."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if record.levelno >= logging.INFO:
            text = _NUMBER.sub(_mask_match, text)
        return text


# syslog priorities journald reads from a `<N>` line prefix (sd-daemon(3)).
_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))


def journal_priority(levelno: int) -> int:
    return next((priority for level, priority in _PRIORITY if levelno >= level), 7)


class JournalFormatter(MaskingFormatter):
    """Prefixes every line with its syslog priority, so `journalctl -p err` and the colours work.
    Each line of a traceback becomes its own journal entry, hence a prefix on each."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{journal_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))


def writes_to_journal(stream: TextIO) -> bool:
    """True when `stream` is the journal's own socket: systemd says which in JOURNAL_STREAM
    (`<device>:<inode>`); a redirected or piped stderr under systemd must not get the prefixes."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in expected.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


class MalformedRequestFilter(logging.Filter):
    """aiohttp logs a malformed request (bad header, bad method…) at ERROR with a 10-line traceback:
    a client's mistake, or a scanner's. One INFO line saying what was wrong is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "aiohttp.server" and record.exc_info and record.exc_info[1] is not None:
            from aiohttp.http_exceptions import HttpProcessingError

            exc = record.exc_info[1]
            if isinstance(exc, HttpProcessingError):
                record.msg, record.args = "malformed HTTP request refused: %s", (str(exc).splitlines()[0][:200],)
                record.levelno, record.levelname = logging.INFO, "INFO"
                record.exc_info = record.exc_text = None
                return logging.getLogger().isEnabledFor(logging.INFO)
        return True


class RepeatFilter(logging.Filter):
    """Lets the same line (logger, level, message template) through at most `burst` times per
    `window` seconds, then says how many were left out. A flood of identical errors (a full
    descriptor table, a dead disk) must not fill the journal at megabytes per second."""

    def __init__(self, window: float = 60.0, burst: int = 5, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 1000) -> None:
        super().__init__()
        self.window, self.burst, self.clock, self.max_keys = window, burst, clock, max_keys
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}  # key -> (window start, count)

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        start, count = self._seen.get(key, (now, 0))
        if now - start >= self.window:
            if count > self.burst + 1:  # the lines muted after the one saying so
                record.msg = f"{record.msg} [{count - self.burst - 1} more like this in the last {now - start:.0f} s]"
            start, count = now, 0
        count += 1
        if key not in self._seen and len(self._seen) >= self.max_keys:
            self._seen.clear()  # bounded memory whatever the variety of messages
        self._seen[key] = (start, count)
        if count == self.burst + 1:
            record.msg = f"{record.msg} [repeated too often: muted for up to {self.window:.0f} s]"
            return True
        return count <= self.burst


def setup_logging(level: str = "INFO", *, stream: TextIO | None = None) -> None:
    """Configure the root logger once; journald adds timestamps, a terminal gets them from us."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)
    with_time = out.isatty()
    fmt = ("%(asctime)s " if with_time else "") + "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JournalFormatter(fmt) if writes_to_journal(out) else MaskingFormatter(fmt))
    handler.addFilter(MalformedRequestFilter())
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(TRACE if level == "TRACE" else getattr(logging, level))
    # aiohttp's access log is noisy on a busy API; keep it at WARNING unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if level in ("TRACE", "DEBUG") else logging.WARNING)

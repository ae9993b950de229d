"""Logging to stderr for journald: TRACE level for raw modem bytes, phone numbers masked at INFO+."""

from __future__ import annotations

import logging
import os
import re
import sys

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


def writes_to_journal(stream: object) -> bool:
    """True when `stream` is the journal's own socket: systemd says which in JOURNAL_STREAM
    (`<device>:<inode>`); a redirected or piped stderr under systemd must not get the prefixes."""
    expected = os.environ.get("JOURNAL_STREAM", "")
    try:
        device, inode = (int(part) for part in expected.split(":"))
        st = os.fstat(stream.fileno())  # type: ignore[attr-defined]
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


def setup_logging(level: str = "INFO", *, stream: object = None) -> None:
    """Configure the root logger once; journald adds timestamps, a terminal gets them from us."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    with_time = hasattr(out, "isatty") and out.isatty()  # type: ignore[union-attr]
    fmt = ("%(asctime)s " if with_time else "") + "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(JournalFormatter(fmt) if writes_to_journal(out) else MaskingFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(TRACE if level == "TRACE" else getattr(logging, level))
    # aiohttp's access log is noisy on a busy API; keep it at WARNING unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if level in ("TRACE", "DEBUG") else logging.WARNING)

"""Logging to stderr for journald: TRACE level for raw modem bytes, phone numbers masked at INFO+."""

from __future__ import annotations

import logging
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


def setup_logging(level: str = "INFO", *, stream: object = None) -> None:
    """Configure the root logger once; journald adds timestamps, a terminal gets them from us."""
    out = stream or sys.stderr
    handler = logging.StreamHandler(out)  # type: ignore[arg-type]
    with_time = hasattr(out, "isatty") and out.isatty()  # type: ignore[union-attr]
    fmt = ("%(asctime)s " if with_time else "") + "%(levelname)s %(name)s: %(message)s"
    handler.setFormatter(MaskingFormatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(TRACE if level == "TRACE" else getattr(logging, level))
    # aiohttp's access log is noisy on a busy API; keep it at WARNING unless debugging.
    logging.getLogger("aiohttp.access").setLevel(logging.DEBUG if level in ("TRACE", "DEBUG") else logging.WARNING)

"""The diagnostics bundle: what an administrator attaches to a support request (JSON).

`assemble()` is pure: it turns facts (versions, settings, line status, store counts, recent
failures and warnings) into the bundle, removing secrets on the way: modem PINs and any
secret-like setting, webhook signing secrets (never read), credentials in URLs; phone numbers
are partly masked, IMSI/ICCID keep only their network/issuer prefix and last two digits, and no
message text is included. `gather()` collects those facts from a running app. Recent log records
at WARNING and above come from `LogRing`, a small in-memory handler installed by
`diagnostics_ctx` for the daemon's lifetime.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import platform
import re
import shutil
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiohttp import web

from gatewayd import __version__, keys
from gatewayd.clock import utc_iso
from gatewayd.config import Settings
from gatewayd.live_settings import EDITABLE
from gatewayd.logging_setup import MaskingFormatter
from gatewayd.modem.events import LineStatus
from gatewayd.phone import mask
from gatewayd.store import diagnostics as diag_store
from gatewayd.store import metrics as metrics_store
from gatewayd.store.diagnostics import DatabaseFacts, FailedMessage, WebhookHealth
from gatewayd.store.metrics import MetricsSnapshot
from gatewayd.store.migrations import available as migrations_available

BUNDLE_FORMAT = 1
REMOVED = "[removed]"
# Distributions whose versions matter when something misbehaves.
LIBRARIES = ("aiohttp", "aiosqlite", "pyserial", "pyserial-asyncio", "python-gsmmodem-new", "pydantic",
             "pydantic-settings", "jinja2", "aiohttp-jinja2", "phonenumbers", "apscheduler", "prometheus-client",
             "argon2-cffi", "openpyxl", "holidays", "tzdata")
# A setting whose name has one of these words (split on '_') holds a secret: its value is removed.
SECRET_WORDS = frozenset({"pin", "puk", "secret", "secrets", "password", "passwd", "passphrase", "token", "tokens",
                          "key", "keys", "credential", "credentials", "auth", "cookie", "private"})
_NUMBER = re.compile(r"(?<![\w+])\+?\d{9,20}(?!\w)")  # phone numbers, IMSIs, ICCIDs inside free text
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)


@dataclass(frozen=True)
class LogEntry:
    """One log record kept for the bundle (already masked)."""

    at: str
    level: str
    logger: str
    message: str


class LogRing(logging.Handler):
    """Keeps the last `capacity` records at WARNING+ in memory, formatted with numbers masked."""

    MAX_CHARS = 4000  # a traceback is useful, a megabyte of repr is not

    def __init__(self, capacity: int = 100, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self._records: collections.deque[LogEntry] = collections.deque(maxlen=capacity)
        self.setFormatter(MaskingFormatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
            at = datetime.fromtimestamp(record.created, UTC)
            self._records.append(LogEntry(utc_iso(at) or "", record.levelname, record.name, text[: self.MAX_CHARS]))
        except Exception:  # noqa: BLE001 - a logging handler must never raise into the code that logged
            self.handleError(record)

    def entries(self) -> list[LogEntry]:
        """Kept records, oldest first."""
        return list(self._records)


@dataclass(frozen=True)
class DiagnosticsState:
    """What the daemon keeps for its bundle: the log ring and when it started."""

    ring: LogRing
    started_at: datetime


async def diagnostics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Install the log ring on the root logger for the app's lifetime (first in cleanup_ctx)."""
    state = DiagnosticsState(LogRing(), app[keys.CLOCK].now())
    app[keys.DIAGNOSTICS] = state
    logging.getLogger().addHandler(state.ring)
    yield
    logging.getLogger().removeHandler(state.ring)


# ------------------------------------------------------------------ masking


def mask_text(text: str | None) -> str | None:
    """`text` with every phone-number-like digit run masked and URL credentials removed."""
    if text is None:
        return None
    text = _URL.sub(lambda m: redact_url(m.group(0)), text)
    return _NUMBER.sub(lambda m: mask(m.group(0)), text)


def mask_identity(value: str | None, keep_start: int, keep_end: int = 2) -> str | None:
    """Keep the first `keep_start` and last `keep_end` characters: '208011234567890' -> '20801••••••••90'."""
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return "•" * len(value)
    return value[:keep_start] + "•" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_imsi(imsi: str | None) -> str | None:
    """MCC+MNC (which network issued the SIM) and the last two digits stay visible."""
    return mask_identity(imsi, 5)


def mask_iccid(iccid: str | None) -> str | None:
    """'89' + country + issuer stay visible, and the last two digits."""
    return mask_identity(iccid, 6)


def redact_url(url: str) -> str:
    """`url` without a password in its user part and with every query value removed."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REMOVED
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REMOVED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        query = urlencode([(k, REMOVED) for k, _ in parse_qsl(query, keep_blank_values=True)], safe="[]")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _secret_name(name: str) -> bool:
    return any(word in SECRET_WORDS for word in re.split(r"[_\-.]", name.lower()))


def redact_config(value: Any, name: str = "") -> Any:
    """A JSON-ready copy of a settings dump with secret-like values replaced by REMOVED."""
    if name and _secret_name(name) and value not in (None, "", [], {}):
        return REMOVED
    if isinstance(value, Mapping):
        return {str(k): redact_config(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_config(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


# ------------------------------------------------------------------ facts


def versions() -> dict[str, Any]:
    """gatewayd, Python, SQLite and the key libraries."""
    libs: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            libs[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            libs[name] = None
    return {"gatewayd": __version__, "python": platform.python_version(),
            "python_implementation": platform.python_implementation(), "sqlite": sqlite3.sqlite_version,
            "libraries": libs}


def _os_release() -> str | None:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            for line in Path(path).read_text("utf-8").splitlines():
                if line.startswith("PRETTY_NAME="):
                    return line.partition("=")[2].strip().strip('"')
        except OSError:
            continue
    return None


def _meminfo() -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in ("MemTotal", "MemAvailable"):
                out[name.lower() + "_kb"] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return out


def _rss_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def system_info(data_dir: Path) -> dict[str, Any]:
    """OS, kernel, machine, memory, load, the process and free space where the database lives."""
    uname = platform.uname()
    info: dict[str, Any] = {"os": _os_release() or uname.system, "system": uname.system, "kernel": uname.release,
                            "kernel_build": uname.version, "machine": uname.machine, "cpus": os.cpu_count(),
                            "python_executable": sys.executable, "pid": os.getpid(), "rss_kb": _rss_kb(),
                            **_meminfo()}
    try:
        info["load_average"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        info["load_average"] = None
    try:
        usage = shutil.disk_usage(data_dir)
        info["data_disk"] = {"path": str(data_dir), "total_bytes": usage.total, "free_bytes": usage.free}
    except OSError:
        info["data_disk"] = None
    return info


def line_details(status: LineStatus, dispatch: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One line as support needs it: identity (IMSI/ICCID masked), network, signal, storage, errors."""
    dbm = None if status.signal is None else -113 + 2 * status.signal
    out: dict[str, Any] = {
        "name": status.name, "port": status.port, "state": status.state.value, "since": utc_iso(status.since),
        "manufacturer": status.manufacturer, "model": status.model, "firmware": status.firmware,
        "imei": status.imei, "imsi": mask_imsi(status.imsi), "iccid": mask_iccid(status.iccid),
        "operator": status.operator, "registered": status.registered, "roaming": status.roaming,
        "signal_rssi": status.signal, "signal_dbm": dbm,
        "storage": {"used": status.storage_used, "total": status.storage_total},
        "sim_mismatch": mask_text(status.sim_mismatch), "last_error": mask_text(status.last_error),
        # The SMSC is the operator's service centre, not a person: support needs it whole.
        "extra": {k: v if k == "smsc" else mask_text(v) for k, v in status.extra.items()},
    }
    if dispatch is not None:
        out["dispatch"] = {**dispatch, "last_send_error": mask_text(dispatch.get("last_send_error"))}
    return out


def _failed(row: FailedMessage) -> dict[str, Any]:
    return {"id": row.id, "to": mask(row.to_number), "line": row.line, "source": row.source, "attempts": row.attempts,
            "error_code": row.error_code, "error": mask_text(row.error), "at": row.failed_at}


def _webhook(row: WebhookHealth) -> dict[str, Any]:
    return {"id": row.id, "url": redact_url(row.url), "enabled": row.enabled, "events": row.events,
            "deliveries": {"pending": row.pending, "failed": row.failed, "delivered": row.delivered},
            "last_error": mask_text(row.last_error), "last_error_at": row.last_error_at}


def assemble(*, now: datetime, started_at: datetime | None, versions: Mapping[str, Any], system: Mapping[str, Any],
             settings: Settings, lines: Sequence[Mapping[str, Any]], counts: MetricsSnapshot, database: DatabaseFacts,
             latest_schema: int, failed: Iterable[FailedMessage], webhooks: Iterable[WebhookHealth],
             log: Iterable[LogEntry], console_changes: Mapping[str, Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The bundle as a JSON-ready dict (pure: no I/O, secrets removed, numbers masked)."""
    return {
        "format": BUNDLE_FORMAT,
        "generated_at": utc_iso(now),
        "daemon": {"started_at": utc_iso(started_at),
                   "uptime_s": None if started_at is None else round((now - started_at).total_seconds())},
        "versions": dict(versions),
        "system": dict(system),
        "config": redact_config(settings.model_dump(mode="json")),
        # Sections changed in the console or the settings API (they override the file's, shown above).
        "config_changed_while_running": {name: dict(change) for name, change in sorted((console_changes or {}).items())},
        "lines": [dict(line) for line in lines],
        "messages": {"by_state": dict(sorted(counts.messages_by_state.items())), "queue_depth": counts.queue_depth,
                     "scheduled": counts.scheduled, "retries": counts.retries},
        "totals": {"inbound": counts.inbound, "opt_outs": counts.opt_outs_current, "calls": counts.calls,
                   "webhook_backlog": counts.webhook_backlog},
        "database": {**asdict(database), "latest_schema_version": latest_schema,
                     "size_bytes": database.file_bytes + database.wal_bytes + database.shm_bytes},
        "webhooks": [_webhook(w) for w in webhooks],
        "recent_errors": {"failed_messages": [_failed(f) for f in failed],
                          "log": [asdict(e) for e in log]},
    }


async def gather(app: web.Application) -> dict[str, Any]:
    """Collect the facts from a running app and assemble the bundle."""
    settings = app[keys.SETTINGS]
    changes: dict[str, dict[str, Any]] = {}
    if keys.LIVE_SETTINGS in app:
        live = app[keys.LIVE_SETTINGS]
        settings = live.settings
        for section in EDITABLE:
            change = live.changed(section)
            if change is not None:
                changes[section] = {"keys": sorted(change.values), "changed_at": utc_iso(change.changed_at),
                                    "changed_by": change.changed_by}
    db = app[keys.DB]
    async with db.read() as conn:
        counts = await metrics_store.snapshot(conn)
        database = await diag_store.database_facts(conn, db.path)
        failed = await diag_store.recent_failed_messages(conn)
        hooks = await diag_store.webhook_health(conn)
    statuses = app[keys.MODEM_STATUS]() if keys.MODEM_STATUS in app else []
    dispatcher = app.get(keys.DISPATCHER)
    lines = [line_details(s, dispatcher.line_info(s.name) if dispatcher is not None else None) for s in statuses]
    state = app.get(keys.DIAGNOSTICS)
    return assemble(
        # Package metadata and /proc are read in a thread: dozens of small files, kept off the event loop.
        now=app[keys.CLOCK].now(), started_at=state.started_at if state else None,
        versions=await asyncio.to_thread(versions), system=await asyncio.to_thread(system_info, db.path.parent),
        settings=settings, lines=lines, counts=counts, database=database,
        latest_schema=migrations_available()[-1].version, failed=failed, webhooks=hooks,
        log=state.ring.entries() if state else [], console_changes=changes)

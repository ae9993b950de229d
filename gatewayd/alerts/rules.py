"""Which incidents are true now (pure): line statuses, the database and the disk in, a set of
conditions out. Debouncing lives here too, so a line that blinks for a second raises nothing.

The service compares the conditions with the incidents open in the database: a new condition
opens an incident (one alert), a condition gone resolves it (one recovery message)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gatewayd.modem.events import LineState, LineStatus

# Incidents these rules own: they open and resolve them. Others (campaigns, balance) are events.
CONDITION_KINDS = ("line_down", "registration_lost", "storage_full", "disk_low", "database_unwritable")

# The line is up (its port open, modem initialised): trouble then is the network, not the modem.
_CONNECTED = (LineState.READY, LineState.DEGRADED)


@dataclass(frozen=True)
class Condition:
    kind: str
    subject: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    lines: tuple[LineStatus, ...]
    free_bytes: int | None = None          # under the database; None when unknown
    write_error: str | None = None         # why the database refused a write, None when it takes them


@dataclass
class Tracker:
    """Memory between two evaluations: since when each line is in trouble, and storage-full
    reports already counted. `down_after` seconds of continuous trouble make a line down."""

    down_after: float
    disk_low_bytes: int
    bad_since: dict[tuple[str, str], datetime] = field(default_factory=dict)
    full_reports: dict[str, int] = field(default_factory=dict)
    full_seen: set[str] = field(default_factory=set)

    def evaluate(self, snap: Snapshot) -> list[Condition]:
        out: list[Condition] = []
        for status in snap.lines:
            out += self._line(status, snap.now)
        if snap.write_error is not None:
            out.append(Condition("database_unwritable", "", {"reason": snap.write_error}))
        if snap.free_bytes is not None and self.disk_low_bytes and snap.free_bytes < self.disk_low_bytes:
            out.append(Condition("disk_low", "", {"free_mb": snap.free_bytes // 1_000_000,
                                                  "threshold_mb": self.disk_low_bytes // 1_000_000}))
        return out

    def _line(self, s: LineStatus, now: datetime) -> list[Condition]:
        out = []
        can_send = s.state is LineState.READY and s.sim_mismatch is None
        # Off the network with nothing else wrong is its own incident; any other reason a line
        # cannot send (unplugged, not answering, another SIM, a failed start) is "down".
        unregistered = (s.state in _CONNECTED and not s.registered and s.last_error is None
                        and s.sim_mismatch is None)
        down = not can_send and not unregistered
        # The state's own word (translated) while the port is not up; else what the modem layer says.
        reason = s.state.value if s.state not in _CONNECTED else (s.sim_mismatch or s.last_error or s.state.value)
        for kind, bad, params in (("line_down", down, {"reason": reason}),
                                  ("registration_lost", unregistered, {})):
            key = (kind, s.name)
            if not bad:
                self.bad_since.pop(key, None)
                continue
            since = self.bad_since.setdefault(key, now)
            seconds = (now - since).total_seconds()
            if seconds >= self.down_after:
                out.append(Condition(kind, s.name, {"line": s.name, "seconds": int(seconds), **params}))
        if self._storage_full(s):
            out.append(Condition("storage_full", s.name,
                                 {"line": s.name, "used": s.storage_used, "total": s.storage_total}))
        return out

    def _storage_full(self, s: LineStatus) -> bool:
        """Full when +CPMS says so, or when the modem reported it since the last look (it is
        swept at once, so the report may be all there is); stays full for one evaluation."""
        reports = int(s.extra.get("storage_full_reports", "0") or 0)
        seen = self.full_reports.get(s.name)
        self.full_reports[s.name] = reports
        reported = seen is not None and reports > seen or seen is None and reports > 0
        at_limit = bool(s.storage_total) and (s.storage_used or 0) >= (s.storage_total or 0)
        if reported or at_limit:
            self.full_seen.add(s.name)
            return True
        if s.name in self.full_seen:
            self.full_seen.discard(s.name)  # shown full once: now it has room
        return False


def lines_that_can_send(statuses: Iterable[LineStatus]) -> list[str]:
    return [s.name for s in statuses if s.state is LineState.READY and s.registered and s.sim_mismatch is None]

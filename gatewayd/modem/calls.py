"""Pure incoming-call tracker: RING / +CLIP / NO CARRIER in, one CallEvent per call out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gatewayd.modem.events import CallEvent


@dataclass
class _Call:
    started_at: datetime
    last_ring_mono: float
    rings: int = 0
    number: str | None = None


class CallTracker:
    """A call starts at the first RING/+CLIP and ends at NO CARRIER, our hang-up, or silence."""

    def __init__(self, line: str, quiet: float) -> None:
        self.line = line
        self.quiet = quiet
        self._call: _Call | None = None

    @property
    def active(self) -> bool:
        return self._call is not None

    @property
    def number(self) -> str | None:
        return self._call.number if self._call else None

    @property
    def rings(self) -> int:
        return self._call.rings if self._call else 0

    def ring(self, now: datetime, mono: float) -> None:
        """A RING (or +CRING) line."""
        call = self._ensure(now, mono)
        call.rings += 1
        call.last_ring_mono = mono

    def clip(self, number: str | None, now: datetime, mono: float) -> None:
        """A +CLIP line (comes after each RING on most modems; counts no ring by itself)."""
        call = self._ensure(now, mono)
        if number:
            call.number = number
        call.last_ring_mono = mono
        if call.rings == 0:
            call.rings = 1  # some firmwares send +CLIP without a separate RING

    def end(self, now: datetime, *, hung_up_by_us: bool = False) -> CallEvent | None:
        """The call ended (NO CARRIER, +CEND, our ATH); the event, or None if no call was on."""
        call, self._call = self._call, None
        if call is None:
            return None
        return CallEvent(self.line, call.number, call.started_at, now, call.rings, hung_up_by_us)

    def tick(self, now: datetime, mono: float) -> CallEvent | None:
        """End a call whose rings stopped `quiet` seconds ago (the caller gave up)."""
        if self._call is not None and mono - self._call.last_ring_mono >= self.quiet:
            return self.end(now)
        return None

    def deadline(self) -> float | None:
        """Monotonic time at which `tick` would end the current call."""
        return None if self._call is None else self._call.last_ring_mono + self.quiet

    def _ensure(self, now: datetime, mono: float) -> _Call:
        if self._call is None:
            self._call = _Call(started_at=now, last_ring_mono=mono)
        return self._call

"""Time as a dependency: the daemon reads the clock only through a Clock, so tests can drive it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Protocol, overload


class Clock(Protocol):
    """Wall-clock time (UTC, aware) and a monotonic counter for timeouts."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that moves only when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("FakeClock.set needs an aware datetime")
        self._mono += max(0.0, (when - self._now).total_seconds())
        self._now = when

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


# Earlier than any gatewayd release: a wall clock before it has never been set (1970 at boot).
RELEASE_FLOOR = datetime(2025, 1, 1, tzinfo=timezone.utc)


class ClockSanity:
    """Whether the wall clock can be trusted for decisions made from the time of day or the date.

    A Raspberry Pi has no real-time clock: it boots in 1970, or at the time fake-hwclock saved
    before the last shutdown, until NTP corrects it. Deciding quiet hours or due schedules from such a
    clock sends marketing at night. The clock is trusted once it has passed both the release floor
    and the newest time already recorded (it cannot really be earlier than what happened before),
    and from then on: an NTP step forward is normal, a step back after that is not our concern."""

    def __init__(self, floor: datetime) -> None:
        self.floor = max(floor, RELEASE_FLOOR)
        self._trusted = False

    def trusted(self, now: datetime) -> bool:
        if not self._trusted and now >= self.floor:
            self._trusted = True
        return self._trusted


@overload
def utc_iso(when: datetime) -> str: ...
@overload
def utc_iso(when: None) -> None: ...
@overload
def utc_iso(when: datetime | None) -> str | None: ...
def utc_iso(when: datetime | None) -> str | None:
    """RFC 3339 text in UTC with a 'Z', as stored in SQLite and shown by the API."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@overload
def parse_iso(text: str) -> datetime: ...
@overload
def parse_iso(text: None) -> None: ...
@overload
def parse_iso(text: str | None) -> datetime | None: ...
def parse_iso(text: str | None) -> datetime | None:
    """Inverse of utc_iso (accepts any RFC 3339 offset)."""
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parse_iso_required(text: str) -> datetime:
    """parse_iso for a NOT NULL time column (the store's row mappers): a missing value is a broken row,
    said as such, rather than a None travelling on in a field typed datetime."""
    if not isinstance(text, str):
        raise ValueError(f"expected a stored time, found {text!r}")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

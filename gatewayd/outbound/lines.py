"""Per-line sending budget (pure): segment caps per calendar minute/hour/day in the box's time
zone, random spacing between sends, a cool-down after a line failed, and least-loaded order."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from gatewayd.config import OutboundSettings

UNLIMITED = 255  # the most segments one message can have: "room for anything"


@dataclass(frozen=True)
class Caps:
    """Segments allowed per window (None = no cap)."""

    per_minute: int | None = None
    per_hour: int | None = None
    per_day: int | None = None

    @classmethod
    def from_settings(cls, s: OutboundSettings) -> Caps:
        return cls(s.per_line_per_minute, s.per_line_per_hour, s.per_line_per_day)


def _windows(local: datetime) -> tuple[datetime, datetime, datetime]:
    """Start of the calendar minute, hour and day containing `local`."""
    minute = local.replace(second=0, microsecond=0)
    return minute, minute.replace(minute=0), minute.replace(hour=0, minute=0)


@dataclass
class LineUsage:
    """Segments one line sent in the current calendar minute, hour and day."""

    tz: ZoneInfo
    starts: tuple[datetime, datetime, datetime] | None = None
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])

    def _roll(self, now: datetime) -> None:
        starts = _windows(now.astimezone(self.tz))
        if self.starts is None:
            self.starts = starts
            return
        for i in range(3):
            if starts[i] != self.starts[i]:
                self.counts[i] = 0
        self.starts = starts

    def record(self, now: datetime, segments: int) -> None:
        self._roll(now)
        for i in range(3):
            self.counts[i] += segments

    def used(self, now: datetime) -> tuple[int, int, int]:
        self._roll(now)
        return self.counts[0], self.counts[1], self.counts[2]

    def room(self, now: datetime, caps: Caps) -> int:
        """Segments the line may still send now. An empty window lets a message bigger than the
        cap through whole (it could never go otherwise); a started one must not overflow."""
        used = self.used(now)
        room = UNLIMITED
        for cap, n in zip((caps.per_minute, caps.per_hour, caps.per_day), used, strict=True):
            if cap is None:
                continue
            room = min(room, UNLIMITED if n == 0 else max(0, cap - n))
        return room

    def next_reset(self, now: datetime, caps: Caps) -> datetime | None:
        """When the tightest exhausted window starts over (None when nothing is exhausted)."""
        used = self.used(now)
        assert self.starts is not None
        best: datetime | None = None
        for i, cap in enumerate((caps.per_minute, caps.per_hour, caps.per_day)):
            if cap is None or used[i] < cap:
                continue
            start = self.starts[i]
            if i == 0:
                end = start + timedelta(minutes=1)
            elif i == 1:
                end = start + timedelta(hours=1)
            else:  # calendar days: DST days are 23 or 25 hours long
                end = datetime.combine(start.date() + timedelta(days=1), time(0), self.tz)
            best = end if best is None or end > best else best
        return best


@dataclass
class LineBook:
    """What the dispatcher remembers about one line between passes."""

    name: str
    usage: LineUsage
    busy: bool = False
    cooldown_until: float = 0.0          # monotonic seconds
    spacing_until: float = 0.0           # monotonic seconds
    last_error: str | None = None
    sent_segments: int = 0               # since start (metrics)

    def free(self, mono: float) -> bool:
        return not self.busy and mono >= self.cooldown_until and mono >= self.spacing_until


def spacing(settings: OutboundSettings, rng: random.Random) -> float:
    """Seconds to leave a line quiet after a send."""
    lo, hi = settings.spacing_min_seconds, settings.spacing_max_seconds
    return 0.0 if hi <= 0 else rng.uniform(lo, hi)


def least_loaded(books: Iterable[LineBook], now: datetime) -> list[LineBook]:
    """Lines ordered so the one that sent least today (then this hour) picks first."""
    return sorted(books, key=lambda b: (b.usage.used(now)[2], b.usage.used(now)[1], b.name))


def rebuild(names: Sequence[str], sent: Iterable[tuple[str, datetime]], tz: ZoneInfo, now: datetime) -> dict[str, LineUsage]:
    """Usage counters from the parts sent earlier today (so caps survive a restart)."""
    usage = {n: LineUsage(tz) for n in names}
    day_start = _windows(now.astimezone(tz))[2]
    for line, at in sent:
        u = usage.setdefault(line, LineUsage(tz))
        u._roll(now)
        local = at.astimezone(tz)
        minute, hour, day = _windows(local)
        if day != day_start:
            continue
        starts = u.starts
        assert starts is not None
        u.counts[2] += 1
        if hour == starts[1]:
            u.counts[1] += 1
        if minute == starts[0]:
            u.counts[0] += 1
    return usage

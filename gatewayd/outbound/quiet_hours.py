"""Quiet hours for marketing (pure): a weekly sending window in the box's time zone, minus
public holidays. Outside the window marketing waits; it is never dropped."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays as holidays_lib

from gatewayd.config import QuietHoursSettings

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def holiday_calendar(country: str, subdivision: str = "") -> Container[date]:
    """Public holidays of `country` (computed per year on demand, no I/O)."""
    return holidays_lib.country_holidays(country.upper(), subdiv=subdivision or None)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class QuietHours:
    """When marketing may go out. `days` holds weekday numbers (Monday = 0)."""

    enabled: bool
    days: frozenset[int]
    send_from: time
    send_until: time
    tz: ZoneInfo
    holidays: Container[date] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, qh: QuietHoursSettings, tz_name: str,
                      calendar: Callable[[str, str], Container[date]] = holiday_calendar) -> QuietHours:
        days = frozenset(DAY_NAMES.index(d) for d in qh.days)
        cal = calendar(qh.country, qh.subdivision) if qh.holidays else frozenset()
        return cls(qh.enabled, days, qh.send_from, qh.send_until, ZoneInfo(tz_name), cal)

    def _open_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def allowed(self, now: datetime) -> bool:
        """Whether marketing may be sent at `now` (aware)."""
        if not self.enabled:
            return True
        local = now.astimezone(self.tz)
        return self._open_day(local.date()) and self.send_from <= local.time() < self.send_until

    def next_open(self, now: datetime) -> datetime:
        """`now` when allowed, else the (UTC) instant the window opens next."""
        if self.allowed(now) or not self.days:
            return now
        local = now.astimezone(self.tz)
        day = local.date()
        for _ in range(370):  # a year of holidays and closed days at most
            if self._open_day(day):
                start = datetime.combine(day, self.send_from, self.tz)
                # A DST gap can push the wall time; normalise through UTC.
                start = start.astimezone(timezone.utc)
                if start > now:
                    return start
                end = datetime.combine(day, self.send_until, self.tz).astimezone(timezone.utc)
                if now < end:
                    return now
            day += timedelta(days=1)
        return now + timedelta(days=1)

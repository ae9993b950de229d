"""The out-of-hours answer (pure calendar part): office hours are a weekly window in the box's
time zone minus the public holidays of the quiet-hours calendar ([quiet_hours] country and
subdivision); outside it, a closed period runs from the last closing time to the next opening.
One answer per sender per closed period: the period's start is what the once-only check uses."""

from __future__ import annotations

from collections.abc import Callable, Container
from datetime import date, datetime, timedelta, timezone

from gatewayd.config import OutOfHoursSettings, QuietHoursSettings
from gatewayd.outbound.quiet_hours import DAY_NAMES, QuietHours, holiday_calendar


class OfficeHours:
    def __init__(self, window: QuietHours) -> None:
        self.window = window

    @classmethod
    def from_settings(cls, ooh: OutOfHoursSettings, quiet: QuietHoursSettings, tz_name: str,
                      calendar: Callable[[str, str], Container[date]] = holiday_calendar) -> OfficeHours:
        # The quiet-hours window type and holiday calendar, with the office's own days and hours.
        from zoneinfo import ZoneInfo

        cal = calendar(quiet.country, quiet.subdivision) if ooh.holidays else frozenset()
        days = frozenset(DAY_NAMES.index(d) for d in ooh.days)
        return cls(QuietHours(True, days, ooh.open_from, ooh.open_until, ZoneInfo(tz_name), cal))

    def is_open(self, now: datetime) -> bool:
        return self.window.allowed(now)

    def closed_since(self, now: datetime) -> datetime | None:
        """None during office hours; else the UTC instant this closed period began (the last
        closing time, or a year back when the office never opened in that time)."""
        if self.is_open(now):
            return None
        w = self.window
        day = now.astimezone(w.tz).date()
        for _ in range(370):
            if day.weekday() in w.days and day not in w.holidays:
                end = datetime.combine(day, w.send_until, w.tz).astimezone(timezone.utc)
                if end <= now:
                    return end
            day -= timedelta(days=1)
        return now - timedelta(days=370)

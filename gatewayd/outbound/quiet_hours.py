"""Quiet hours for marketing (pure): a weekly sending window in the box's time zone, minus
public holidays. Outside the window marketing waits; it is never dropped."""

from __future__ import annotations

import importlib.util
import logging
import sys
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import holidays as holidays_lib

if TYPE_CHECKING:  # config validates [quiet_hours] with holiday_calendar(): no import cycle at run time
    from gatewayd.config import QuietHoursSettings

log = logging.getLogger(__name__)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def holiday_calendar(country: str, subdivision: str = "") -> Container[date]:
    """Public holidays of `country` (computed per year on demand, no I/O); NotImplementedError
    for a country or subdivision the holidays library does not know."""
    code = country.upper()
    entity = _country_class(code)
    if entity is None:
        return holidays_lib.country_holidays(code, subdiv=subdivision or None)
    return entity(subdiv=subdivision or None)  # type: ignore[no-any-return]


def _country_class(code: str) -> Any | None:
    """The holidays class of one country, importing only that country's module; None when the
    library's layout is not the one expected (the caller then uses country_holidays()).

    country_holidays() imports the holidays.countries package, whose __init__ imports all ~280
    country modules: ~9 MB of resident memory in the daemon for the one calendar it uses."""
    try:
        from holidays.registry import COUNTRIES
    except ImportError:
        return None
    found = next(((module, class_name) for module, (class_name, *codes) in COUNTRIES.items() if code in codes), None)
    if found is None:
        raise NotImplementedError(f"Country {code} not available")
    module, class_name = found
    name = f"holidays.countries.{module}"
    loaded = sys.modules.get(name)
    if loaded is None:
        path = Path(holidays_lib.__file__).parent / "countries" / f"{module}.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None or not path.is_file():
            log.debug("holidays: no module file %s; loading every country", path)
            return None
        loaded = importlib.util.module_from_spec(spec)
        # Registered under its real name, so a later `import holidays.countries` reuses this module
        # (one France class, not two). Its own imports are absolute and outside holidays.countries.
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[name]
            raise
    # The alias class (FR, GBR…) is what country_holidays() returns for that code.
    return getattr(loaded, code, None) or getattr(loaded, class_name, None)


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

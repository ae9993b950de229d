"""When a campaign sends, beyond "now" or "at this time" (pure).

- A reminder: each recipient's send time comes from a date in their values (a file column or a
  contact field): "the day before at 10:00" (days_before=1, at=10:00) or "2 hours before"
  (minutes_before=120). Dates are read as French files write them (contacts/dates.py), in the box's
  time zone. The send time is moved into the quiet-hours window (the same QuietHours rule the
  dispatcher applies); a reminder that would then reach the person after the date itself, or whose
  date is already past, is skipped and listed. A reminder whose time has passed while its date is
  still ahead goes out at once.
- A recurring campaign: every week on given days, or every month on a given day, at a time
  (APScheduler's CronTrigger computes the occurrences); each occurrence sends to the audience as
  it is then, as a campaign of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from gatewayd.contacts.dates import parse_date_time
from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.problems import CodedValueError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SKIP_LISTED = 200


class TimingProblem(CodedValueError):
    """The timing asked for cannot be used: the field and a `timing.*` code."""

    def __init__(self, field: str, code: str, **params: Any) -> None:
        super().__init__(code, **params)
        self.field = field


@dataclass(frozen=True)
class Reminder:
    column: str                      # the recipient value holding the date
    days_before: int | None = None   # with `at`: that many days before, at that time of day
    at: time | None = None
    minutes_before: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": "reminder", "column": self.column, "days_before": self.days_before,
                "at": self.at.strftime("%H:%M") if self.at else None, "minutes_before": self.minutes_before}


@dataclass(frozen=True)
class Recurring:
    days_of_week: tuple[str, ...] = ()  # every week on these days...
    day_of_month: int | None = None     # ...or every month on this day
    at: time = time(9, 0)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "recurring", "days_of_week": list(self.days_of_week), "day_of_month": self.day_of_month,
                "at": self.at.strftime("%H:%M")}


Timing = Reminder | Recurring


def _time(raw: Any, field: str) -> time:
    try:
        hour, minute = str(raw).replace("h", ":").split(":")
        return time(int(hour), int(minute or 0))
    except (ValueError, TypeError):
        raise TimingProblem(field, "timing.bad_time", raw=str(raw)) from None


def parse(data: Mapping[str, Any] | None) -> Timing | None:
    """The timing of a campaign's JSON; TimingProblem naming the field that is wrong."""
    if not data:
        return None
    kind = data.get("kind")
    if kind == "reminder":
        column = str(data.get("column") or "").strip()
        if not column:
            raise TimingProblem("timing.column", "timing.column_required")
        days, minutes = data.get("days_before"), data.get("minutes_before")
        if (days is None) == (minutes is None):
            raise TimingProblem("timing", "timing.days_or_minutes")
        if minutes is not None:
            if not isinstance(minutes, int) or not 0 <= minutes <= 60 * 24 * 30:
                raise TimingProblem("timing.minutes_before", "timing.minutes_range")
            return Reminder(column, minutes_before=minutes)
        if not isinstance(days, int) or not 0 <= days <= 90:
            raise TimingProblem("timing.days_before", "timing.days_range")
        return Reminder(column, days_before=days, at=_time(data.get("at") or "10:00", "timing.at"))
    if kind == "recurring":
        days_of_week = tuple(str(d).lower()[:3] for d in data.get("days_of_week") or ())
        day_of_month = data.get("day_of_month")
        if bool(days_of_week) == (day_of_month is not None):
            raise TimingProblem("timing", "timing.week_or_month")
        if any(d not in DAY_NAMES for d in days_of_week):
            raise TimingProblem("timing.days_of_week", "timing.day_names", days=", ".join(DAY_NAMES))
        if day_of_month is not None and (not isinstance(day_of_month, int) or not 1 <= day_of_month <= 28):
            raise TimingProblem("timing.day_of_month", "timing.day_of_month")
        return Recurring(days_of_week, day_of_month, _time(data.get("at") or "09:00", "timing.at"))
    raise TimingProblem("timing.kind", "timing.kind")


@dataclass(frozen=True)
class Planned:
    send_at: datetime | None   # UTC; None when skipped
    skipped: str | None = None  # past | too_late | no_date | no_time
    date: str = ""              # the cell as written


def plan_reminder(rule: Reminder, values: Mapping[str, str], *, tz: ZoneInfo, quiet: QuietHours | None,
                  now: datetime) -> Planned:
    """When one recipient's reminder goes out (or why it does not)."""
    lowered = {k.lower(): v for k, v in values.items()}
    raw = (lowered.get(rule.column.lower()) or "").strip()
    parsed = parse_date_time(raw) if raw else None
    if parsed is None:
        return Planned(None, "no_date", raw[:40])
    local, has_time = parsed
    if rule.minutes_before is not None and not has_time:
        return Planned(None, "no_time", raw[:40])
    appointment = local.replace(tzinfo=tz).astimezone(timezone.utc)
    if appointment <= now:
        return Planned(None, "past", raw[:40])
    if rule.minutes_before is not None:
        when = appointment - timedelta(minutes=rule.minutes_before)
    else:
        day = local.date() - timedelta(days=rule.days_before or 0)
        when = datetime.combine(day, rule.at or time(10, 0), tz).astimezone(timezone.utc)
    when = max(when, now)  # its time passed while the date is ahead: at once
    if quiet is not None:
        when = quiet.next_open(when)
    if when >= appointment:
        return Planned(None, "too_late", raw[:40])
    return Planned(when, None, raw[:40])


def trigger(rule: Recurring, tz: ZoneInfo) -> Any:
    """APScheduler's CronTrigger for the occurrences, in the box's time zone."""
    from apscheduler.triggers.cron import CronTrigger

    fields: dict[str, Any] = {"hour": rule.at.hour, "minute": rule.at.minute, "timezone": tz}
    if rule.day_of_month is not None:
        fields["day"] = rule.day_of_month
    else:
        fields["day_of_week"] = ",".join(rule.days_of_week)
    return CronTrigger(**fields)


def next_occurrences(rule: Recurring, tz: ZoneInfo, after: datetime, count: int = 3) -> list[datetime]:
    """The next `count` occurrences strictly after `after`, in UTC."""
    cron = trigger(rule, tz)
    out: list[datetime] = []
    previous = None
    moment = after + timedelta(seconds=1)
    for _ in range(count):
        fire = cron.get_next_fire_time(previous, moment)
        if fire is None:
            break
        out.append(fire.astimezone(timezone.utc))
        previous, moment = fire, fire + timedelta(seconds=1)
    return out

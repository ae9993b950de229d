"""Preview arithmetic (pure): segments of many rendered texts quickly, and how long sending takes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from gatewayd.modem import gsm7
from gatewayd.modem.segments import MULTI_8BIT_REF, SINGLE, count_segments

_GSM_BASIC = frozenset(c for c in gsm7.BASIC if c != "\x1b")


def fast_segments(text: str) -> int:
    """Segments of `text`, equal to count_segments(text).segments, without its per-character walk
    in the common cases (plain GSM-7, or UCS-2 without emoji); exact fallback otherwise."""
    chars = set(text)
    if chars <= _GSM_BASIC:
        units = len(text)
        per = MULTI_8BIT_REF["GSM-7"]
        return 1 if units <= SINGLE["GSM-7"] else math.ceil(units / per)
    if not (chars <= _GSM_BASIC | frozenset(gsm7.EXTENSION.values())) and max(map(ord, chars)) <= 0xFFFF:
        units = len(text)
        return 1 if units <= SINGLE["UCS-2"] else math.ceil(units / MULTI_8BIT_REF["UCS-2"])
    return count_segments(text).segments


@dataclass(frozen=True)
class LineCap:
    """How much one line may send (per_hour/per_day None = unlimited by configuration)."""

    name: str
    per_hour: int | None
    per_day: int | None


@dataclass(frozen=True)
class DurationEstimate:
    seconds: float
    sending_hours_per_day: float
    messages_per_day: float
    text: str               # "about 3 h", "about 4 days"


def estimate_duration(messages: int, lines: list[LineCap], *, sending_hours_per_day: float,
                      seconds_per_message: float) -> DurationEstimate:
    """Rough wall time to send `messages` (segments) over `lines`, given caps and the daily window.

    Each line sends at most one segment per `seconds_per_message` (what a SIM modem manages), its
    hourly cap and its daily cap; nothing is sent outside the quiet-hours window."""
    hours = max(0.5, min(24.0, sending_hours_per_day))
    lines = lines or [LineCap("pool", None, None)]
    per_day = 0.0
    for line in lines:
        rate_h = 3600.0 / max(seconds_per_message, 0.1)
        if line.per_hour is not None:
            rate_h = min(rate_h, float(line.per_hour))
        daily = rate_h * hours
        if line.per_day is not None:
            daily = min(daily, float(line.per_day))
        per_day += daily
    if messages <= 0 or per_day <= 0:
        return DurationEstimate(0.0, hours, per_day, "nothing to send")
    days = messages / per_day
    if days <= 1:
        seconds = days * hours * 3600  # within one sending window
    else:
        seconds = (math.floor(days) * 24 + (days - math.floor(days)) * hours) * 3600
    return DurationEstimate(seconds, hours, per_day, describe(timedelta(seconds=seconds)))


def describe(span: timedelta) -> str:
    """Human wording of a duration: minutes, hours, or days (what a 200,000-SMS campaign takes)."""
    s = span.total_seconds()
    if s < 3600:
        return f"about {max(1, round(s / 60))} min"
    if s < 86400:
        return f"about {s / 3600:.1f} h"
    return f"about {s / 86400:.1f} days"

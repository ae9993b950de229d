"""Dates and times as French office files write them (pure): 12/01/2027, 12/01/2027 14h30, 2027-01-12,
12.01.27, and Excel serial numbers (days since 1899-12-30, a fraction for the time of day).

Day first, always: a French file's 03/04/2027 is the 3rd of April. A bare number is taken for an Excel
serial date only in a plausible range (1990-2099), so a postcode or an amount is never read as a date.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

_EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01, with Excel's phantom 1900-02-29
_SERIAL_MIN, _SERIAL_MAX = 32874, 73051  # 1990-01-01 .. 2099-12-31
_DMY = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})"
                  r"(?:[ T]+(?:à\s*)?(\d{1,2})\s*(?:[h:H]\s*(\d{2})?)(?::(\d{2}))?)?$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")
_SERIAL = re.compile(r"^\d{5}(?:[.,]\d+)?$")


def parse_date_time(raw: str) -> tuple[datetime, bool] | None:
    """(naive local date-time, whether a time of day was given) or None when `raw` is not a date.

    '12/01/2027' -> (2027-01-12 00:00, False); '12/01/2027 14h30' -> (2027-01-12 14:30, True);
    '46399.6041' (Excel serial) -> (2027-01-12 14:30, True)."""
    text = raw.strip()
    if not text:
        return None
    m = _DMY.match(text)
    if m:
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if len(m.group(3)) == 2:
            year += 2000
        return _build(year, month, day, m.group(4), m.group(5), m.group(6))
    m = _YMD.match(text)
    if m:
        return _build(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5), m.group(6))
    if _SERIAL.match(text):
        serial = float(text.replace(",", "."))
        if not _SERIAL_MIN <= serial <= _SERIAL_MAX:
            return None
        moment = _EXCEL_EPOCH + timedelta(days=serial)
        moment = moment.replace(microsecond=0) + timedelta(seconds=round(moment.microsecond / 1e6))
        return moment, serial != int(serial)
    return None


def _build(year: int, month: int, day: int, hour: str | None, minute: str | None,
           second: str | None) -> tuple[datetime, bool] | None:
    try:
        day_ = date(year, month, day)
        at = time(int(hour), int(minute or 0), int(second or 0)) if hour is not None else time()
    except ValueError:
        return None
    return datetime.combine(day_, at), hour is not None


def looks_like_date(raw: str) -> bool:
    return parse_date_time(raw) is not None

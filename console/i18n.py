"""Console languages: JSON message catalogs (fr, en), language negotiation, and display formats.

A catalog is a flat JSON object `key -> text`; texts use str.format placeholders (`{count}`).
JSON rather than gettext: no compile step, the files ship as they are, and a test checks that both
languages hold exactly the same keys and placeholders.
"""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Mapping
import datetime as dt
from functools import cache, lru_cache
from importlib import resources
from zoneinfo import ZoneInfo

import phonenumbers

from gatewayd.clock import parse_iso
from gatewayd.problems import render_params

log = logging.getLogger(__name__)

LANGUAGES = ("fr", "en")


@cache
def catalog(lang: str) -> Mapping[str, str]:
    """The messages of one language (read once from console/locales/<lang>.json)."""
    text = resources.files("console").joinpath("locales", f"{lang}.json").read_text("utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"locales/{lang}.json is not a JSON object")
    return data


def placeholders(text: str) -> set[str]:
    """The {names} a message uses (the test checks both languages use the same ones)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def translate(lang: str, key: str, /, **values: object) -> str:
    """The message `key` in `lang` with its placeholders filled; English, then the key, as fallbacks."""
    text = catalog(lang).get(key)
    if text is None:
        log.warning("missing console message %r in %s", key, lang)
        text = catalog("en").get(key, key)
    if values:
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("console message %r in %s does not fit its values", key, lang)
            return text
    return text


def word_problem(lang: str, code: str, params: Mapping[str, object]) -> str:
    """A service's problem (stable code and parameters, gatewayd.problems) in `lang`, from the
    catalogue's `problem.<code>`; nested problems (a number's reason…) worded the same way, a
    parameter named `state` by its label."""
    values = render_params(params, lambda c, p: word_problem(lang, c, p), translate(lang, "problem.join"))
    if code == "line.unknown" and values.get("known") == "none":
        values["known"] = translate(lang, "problem.none")
    line_state = values.get("line_state")
    if isinstance(line_state, str) and f"line_state.{line_state}" in catalog(lang):
        values["line_state"] = translate(lang, f"line_state.{line_state}")
    state = values.get("state")
    if isinstance(state, str) and f"state.{state}" in catalog(lang):
        values["state"] = translate(lang, f"state.{state}")
    return translate(lang, f"problem.{code}", **values)


def translate_count(lang: str, key: str, count: int, /, **values: object) -> str:
    """`key` for a number of things: `key.one` when the language says the singular for `count`
    (French: 0 and 1; English: 1) and the catalogue has it. `count` is among the values."""
    singular = count <= 1 if lang == "fr" else count == 1
    if singular and f"{key}.one" in catalog(lang):
        key = f"{key}.one"
    return translate(lang, key, count=count, **values)


def negotiate(accept_language: str | None, default: str) -> str:
    """The best of LANGUAGES for an Accept-Language header, or `default` when none is named."""
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        candidate = (-quality, position, primary)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else default


class Formats:
    """How one request shows dates, counts and phone numbers (language, box time zone, region)."""

    def __init__(self, lang: str, tz: ZoneInfo, region: str, now: dt.datetime) -> None:
        self.lang = lang
        self.tz = tz
        self.region = region
        self.today = now.astimezone(tz).date()

    def local(self, when: dt.datetime) -> dt.datetime:
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.astimezone(self.tz)

    def datetime(self, when: dt.datetime | None) -> str:
        """Full date and time in the box's zone: '23/11/2026 15:04' (fr), '2026-11-23 15:04' (en)."""
        if when is None:
            return ""
        local = self.local(when)
        return local.strftime("%d/%m/%Y %H:%M" if self.lang == "fr" else "%Y-%m-%d %H:%M")

    def stamp(self, when: dt.datetime | str | None) -> str:
        """A stored instant (datetime, or the store's UTC text) as local 'YYYY-MM-DD HH:MM:SS', the
        form every spreadsheet reads as a date in any language (CSV exports)."""
        if not when:
            return ""
        return self.local(parse_iso(when) if isinstance(when, str) else when).strftime("%Y-%m-%d %H:%M:%S")

    def short(self, when: dt.datetime | None) -> str:
        """Time alone for today, else the date and time (lists)."""
        if when is None:
            return ""
        local = self.local(when)
        if local.date() == self.today:
            return local.strftime("%H:%M")
        return self.datetime(when)

    def moment(self, when: dt.datetime | None) -> str:
        """A coming instant people plan by: '09:00' today, else 'lundi 12 janvier à 09:00'."""
        if when is None:
            return ""
        local = self.local(when)
        at = local.strftime("%H:%M")
        if local.date() == self.today:
            return at
        return translate(self.lang, "moment.day_at", weekday=translate(self.lang, f"weekday.{local.weekday()}"),
                         day=local.day, month=translate(self.lang, f"month.{local.month}"), time=at)

    def date(self, when: dt.datetime | None) -> str:
        if when is None:
            return ""
        return self.local(when).strftime("%d/%m/%Y" if self.lang == "fr" else "%Y-%m-%d")

    def input_value(self, when: dt.datetime | None) -> str:
        """Value for an <input type=datetime-local> in the box's zone."""
        return self.local(when).strftime("%Y-%m-%dT%H:%M") if when else ""

    def integer(self, value: float | None) -> str:
        """Thousands grouped the national way: '1 000 000' (fr, narrow no-break space), '1,000,000' (en)."""
        if value is None:
            return ""
        text = f"{value:,.0f}" if isinstance(value, float) else f"{value:,}"
        return text.replace(",", "\u202f") if self.lang == "fr" else text

    def decimal(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        text = f"{value:,.{digits}f}"
        if self.lang == "fr":
            text = text.replace(",", "\u202f").replace(".", ",")
        return text

    def duration(self, seconds: float | None) -> str:
        """A rough length of time: '< 1 min', '25 min', '3 h 05', '2 d 4 h' ('j' in French)."""
        if seconds is None:
            return ""
        minutes = round(seconds / 60)
        if minutes < 1:
            return translate(self.lang, "duration.under_minute")
        if minutes < 60:
            return translate(self.lang, "duration.minutes", m=minutes)
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return translate(self.lang, "duration.hours", h=hours, m=f"{minutes:02d}")
        days, hours = divmod(hours, 24)
        return translate(self.lang, "duration.days", d=days, h=hours)

    def phone(self, number: str | None) -> str:
        """National format ('06 12 34 56 78') for numbers of the box's region, international otherwise."""
        if not number:
            return ""
        if not number.startswith("+"):
            return number  # alphanumeric sender or a short code: shown as received
        return _phone(number, self.region)


@lru_cache(maxsize=4096)
def _phone(number: str, region: str) -> str:
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    if not phonenumbers.is_valid_number(parsed):
        return number
    if phonenumbers.region_code_for_number(parsed) == region:
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

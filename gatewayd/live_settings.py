"""Settings an administrator changes in the console while the daemon runs: the marketing quiet
hours, and the STOP/START keywords with their replies.

The configuration file gives the defaults. A change made in the console is validated by the same
settings model as the file, stored in the database (who, when), handed at once to the parts that
use it, and kept across restarts until the section is reset to the file's values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.errors import InvalidInput, field_error
from gatewayd.problems import CodedValueError, Problem
from gatewayd.store import setting_overrides as store
from gatewayd.store.db import Database

log = logging.getLogger(__name__)

# Section -> the keys the console may change. Everything else stays the file's business.
EDITABLE: Mapping[str, frozenset[str]] = {
    "quiet_hours": frozenset({"enabled", "days", "send_from", "send_until", "holidays", "country", "subdivision"}),
    "optout": frozenset({"stop_words", "start_words", "ignore_words", "confirm_text", "resubscribe_text"}),
}

Listener = Callable[[Settings], None]


def _invalid(section: str, exc: ValidationError) -> InvalidInput:
    """The settings' refusals as field errors: a rule of ours with its code (gatewayd.problems), a
    check of pydantic's with a code of its kind (setting.*), so the console words every one."""
    errors = []
    for e in exc.errors():
        field = ".".join(str(p) for p in e["loc"] if not isinstance(p, int)) or section
        error = (e.get("ctx") or {}).get("error")
        problem = error.problem if isinstance(error, CodedValueError) else setting_problem(e)
        errors.append(field_error(problem, field))
    return InvalidInput.of(errors)


# pydantic's error types (stable across its versions) and the parameters their wording needs.
_SETTING_CODES = {"string_too_long": "max_length", "string_too_short": "min_length", "greater_than_equal": "ge",
                  "less_than_equal": "le", "literal_error": "expected"}


def setting_problem(error: Mapping[str, Any]) -> Problem:
    """A pydantic check's refusal as a problem: `setting.<type>` with its limit, else
    `setting.invalid` holding pydantic's English (the bad value's type: rare in forms)."""
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _SETTING_CODES and _SETTING_CODES[kind] in ctx:
        return Problem(f"setting.{kind}", "", {"limit": str(ctx[_SETTING_CODES[kind]])})
    if kind.startswith("time_"):
        return Problem("setting.time", "", {"value": str(error.get("input", ""))[:40]})
    return Problem("setting.invalid", "", {"message": str(error.get("msg", kind)).removeprefix("Value error, ")})


class LiveSettings:
    """The effective settings (file + console overrides) and who to tell when they change."""

    def __init__(self, db: Database, file_settings: Settings, clock: Clock) -> None:
        self.db = db
        self.file = file_settings
        self.clock = clock
        self.settings = file_settings
        self._changes: dict[str, store.SectionOverrides] = {}
        self._listeners: list[Listener] = []

    async def load(self) -> None:
        """Apply the overrides stored by earlier runs (an override the settings model now refuses is
        logged and left out: the file's value applies)."""
        for section, change in (await store.load(self.db)).items():
            try:
                self._apply(section, self._merged(section, change.values), change)
            except InvalidInput as exc:
                log.error("console setting of [%s] ignored, the configuration file's applies: %s", section, exc.detail)

    def subscribe(self, listener: Listener) -> None:
        """`listener(settings)` after every change, with the new effective settings."""
        self._listeners.append(listener)

    def changed(self, section: str) -> store.SectionOverrides | None:
        """Who changed `section` in the console and when, with the values overriding the file; None if nobody."""
        return self._changes.get(section)

    async def change(self, section: str, values: Mapping[str, Any], *, by: str) -> BaseModel:
        """Validate `values` (keys of the section) over the current ones, store what differs from the
        file, apply it at once. InvalidInput names the offending key; nothing changes then."""
        editable = EDITABLE.get(section)
        if editable is None:
            raise InvalidInput("section", code="setting.section_not_editable", section=section)
        for key in values:
            if key not in editable:
                raise InvalidInput(key, code="setting.not_editable", section=section, key=key)
        current = getattr(self.settings, section).model_dump(mode="json")
        new = self._merged(section, {**current, **values})
        on_file = getattr(self.file, section).model_dump(mode="json")
        wanted = new.model_dump(mode="json")
        overrides = {k: wanted[k] for k in sorted(editable) if wanted[k] != on_file[k]}
        now = self.clock.now()
        await store.replace(self.db, section, overrides, now, by)
        self._apply(section, new, store.SectionOverrides(overrides, now, by) if overrides else None)
        log.info("[%s] changed in the console by %s: %s", section, by, ", ".join(overrides) or "back to the file")
        return new

    async def reset(self, section: str, *, by: str) -> BaseModel:
        """Back to the configuration file's values."""
        return await self.change(section, getattr(self.file, section).model_dump(mode="json"), by=by)

    def _merged(self, section: str, values: Mapping[str, Any]) -> BaseModel:
        base: BaseModel = getattr(self.file, section)
        try:
            return type(base).model_validate({**base.model_dump(mode="json"), **values})
        except ValidationError as exc:
            raise _invalid(section, exc) from None

    def _apply(self, section: str, value: BaseModel, change: store.SectionOverrides | None) -> None:
        self.settings = self.settings.model_copy(update={section: value})
        if change is None:
            self._changes.pop(section, None)
        else:
            self._changes[section] = change
        for listener in self._listeners:
            listener(self.settings)

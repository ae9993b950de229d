"""Setting overrides made in the console (section, key → JSON value), with who changed them and when."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatewayd.clock import parse_iso, utc_iso
from gatewayd.store.db import Database


@dataclass(frozen=True)
class SectionOverrides:
    values: Mapping[str, Any]
    changed_at: datetime
    changed_by: str


async def load(db: Database) -> dict[str, SectionOverrides]:
    """Every overridden section: its values, and the latest change."""
    async with db.read() as conn:
        rows = await conn.execute_fetchall(
            "SELECT section, key, value, changed_at, changed_by FROM setting_overrides ORDER BY section, changed_at")
    out: dict[str, SectionOverrides] = {}
    for section, key, value, changed_at, changed_by in rows:
        earlier = out.get(section)
        values = dict(earlier.values) if earlier else {}
        values[key] = json.loads(value)
        when = parse_iso(changed_at)
        assert when is not None
        out[section] = SectionOverrides(values, when, changed_by)
    return out


async def replace(db: Database, section: str, values: Mapping[str, Any], now: datetime, by: str) -> None:
    """The section's overrides become exactly `values` (JSON-serialisable), in one transaction."""
    async with db.write() as conn:
        await conn.execute("DELETE FROM setting_overrides WHERE section = ?", (section,))
        await conn.executemany(
            "INSERT INTO setting_overrides (section, key, value, changed_at, changed_by) VALUES (?, ?, ?, ?, ?)",
            [(section, key, json.dumps(value, ensure_ascii=False), utc_iso(now), by) for key, value in values.items()])

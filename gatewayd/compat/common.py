"""What both compatibility surfaces need: the surface switch, lines by number, state vocabularies."""

from __future__ import annotations

from aiohttp import web

from gatewayd import keys
from gatewayd.errors import InvalidInput


def require_enabled(app: web.Application, section: str) -> None:
    """404 for every route of a surface switched off in the configuration (`[smseagle] enabled`…)."""
    if not getattr(app[keys.SETTINGS], section).enabled:
        raise web.HTTPNotFound(text=f"this API is switched off ([{section}] enabled = false)")


def line_by_number(app: web.Application, number: int | None, field: str) -> str | None:
    """The line other APIs call SIM/modem `number` (1 = the first line, in the configuration's
    order); None when no number is given. An unknown number is refused naming `field`."""
    if number is None:
        return None
    names = app[keys.POOL].names()
    if not 1 <= number <= len(names):
        raise InvalidInput(field, code="sim.unknown", sim=number, count=len(names))
    return names[number - 1]


def number_of_line(app: web.Application, line: str | None) -> int | None:
    """The reverse of line_by_number (None for an unknown or missing line)."""
    if line is None:
        return None
    names = app[keys.POOL].names()
    return names.index(line) + 1 if line in names else None


def signal_percent(rssi: int | None) -> int:
    """+CSQ RSSI 0–31 as the 0–100 % that SMSEagle reports (0 when unknown)."""
    return 0 if rssi is None or not 0 <= rssi <= 31 else round(rssi * 100 / 31)

"""Typed keys of the aiohttp Application: the one place that lists what the app holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gatewayd.clock import Clock
    from gatewayd.config import Settings
    from gatewayd.modem.events import LineStatus
    from gatewayd.modem_events import ModemEventRouter
    from gatewayd.store.db import Database

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
MODEM_EVENTS: web.AppKey[ModemEventRouter] = web.AppKey("modem_events")

# A callable returning every line's LineStatus (set by the modem pool component).
MODEM_STATUS: web.AppKey[Callable[[], list[LineStatus]]] = web.AppKey("modem_status")

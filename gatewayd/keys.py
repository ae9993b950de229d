"""Typed keys of the aiohttp Application: the one place that lists what the app holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from gatewayd.campaigns.runner import CampaignRunner
    from gatewayd.campaigns.service import CampaignService
    from gatewayd.contacts.importer import ImportService
    from gatewayd.contacts.service import ContactService, GroupService
    from gatewayd.scheduler import Scheduler
    from gatewayd.clock import Clock
    from gatewayd.config import Settings
    from gatewayd.modem.events import LineStatus
    from gatewayd.modem_events import ModemEventRouter
    from gatewayd.store.db import Database
    from gatewayd.inbound.service import InboundService

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
DB: web.AppKey[Database] = web.AppKey("db")
MODEM_EVENTS: web.AppKey[ModemEventRouter] = web.AppKey("modem_events")

# A callable returning every line's LineStatus (set by the modem pool component).
MODEM_STATUS: web.AppKey[Callable[[], list[LineStatus]]] = web.AppKey("modem_status")

# The daemon's timer service (APScheduler); owners re-register their jobs from the database at start.
SCHEDULER: web.AppKey[Scheduler] = web.AppKey("scheduler")
# Contacts, groups, imports and campaigns (gatewayd.campaigns.component).
CONTACTS: web.AppKey[ContactService] = web.AppKey("contacts")
GROUPS: web.AppKey[GroupService] = web.AppKey("groups")
IMPORTS: web.AppKey[ImportService] = web.AppKey("imports")
CAMPAIGNS: web.AppKey[CampaignService] = web.AppKey("campaigns")
CAMPAIGN_RUNNER: web.AppKey[CampaignRunner] = web.AppKey("campaign_runner")
# Inbound SMS, threads, opt-outs, auto-replies and calls (gatewayd.inbound.component).
INBOUND: web.AppKey[InboundService] = web.AppKey("inbound")

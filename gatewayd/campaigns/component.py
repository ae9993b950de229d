"""Lifecycle of contacts, imports and campaigns inside the app (cleanup_ctx), and their API routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys
from gatewayd.campaigns.runner import CampaignRunner
from gatewayd.campaigns.service import CampaignService
from gatewayd.contacts.importer import ImportService
from gatewayd.contacts.service import ContactService, GroupService

log = logging.getLogger(__name__)


async def campaigns_ctx(app: web.Application) -> AsyncIterator[None]:
    """Services over the store; the runner starts only once outbound is there to send through."""
    db, settings, clock = app[keys.DB], app[keys.SETTINGS], app[keys.CLOCK]
    app[keys.CONTACTS] = ContactService(db, settings, clock)
    app[keys.GROUPS] = GroupService(db, clock)
    imports = app[keys.IMPORTS] = ImportService(db, settings, clock)
    live = app[keys.LIVE_SETTINGS]
    service = app[keys.CAMPAIGNS] = CampaignService(db, live.settings, clock, imports, lines=app[keys.POOL],
                                                    scheduler=app[keys.SCHEDULER], composer=app[keys.OUTBOUND].composer)
    live.subscribe(service.use_settings)
    runner = app[keys.CAMPAIGN_RUNNER] = CampaignRunner(service, app[keys.OUTBOUND])
    await service.restore_schedule()
    await runner.start()
    yield
    await runner.stop()


def add_routes(app: web.Application) -> None:
    from gatewayd.api import campaigns, contacts, groups, imports, templates

    for module in (contacts, groups, imports, templates, campaigns):
        app.add_routes(module.routes)

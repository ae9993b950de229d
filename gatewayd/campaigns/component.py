"""Lifecycle of contacts, imports and campaigns inside the app (cleanup_ctx), and their API routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys
from gatewayd.campaigns.runner import CampaignRunner
from gatewayd.campaigns.service import CampaignService
from gatewayd.campaigns.template_service import TemplateService
from gatewayd.contacts.importer import ImportService
from gatewayd.contacts.service import ContactService, GroupService

log = logging.getLogger(__name__)

UPLOAD_EXPIRY_JOB = "imports-expiry"


async def campaigns_ctx(app: web.Application) -> AsyncIterator[None]:
    """Services over the store; the runner starts only once outbound is there to send through."""
    db, settings, clock = app[keys.DB], app[keys.SETTINGS], app[keys.CLOCK]
    app[keys.CONTACTS] = ContactService(db, settings, clock)
    app[keys.GROUPS] = GroupService(db, clock)
    imports = app[keys.IMPORTS] = ImportService(db, settings, clock)
    live = app[keys.LIVE_SETTINGS]
    outbound = app[keys.OUTBOUND]
    # Resuming releases held messages: the dispatcher looks at the queue at once.
    service = app[keys.CAMPAIGNS] = CampaignService(
        db, live.settings, clock, imports, lines=app[keys.POOL], scheduler=app[keys.SCHEDULER],
        composer=outbound.composer,
        on_release=lambda: outbound.on_new_work() if outbound.on_new_work is not None else None)
    live.subscribe(service.use_settings)
    app[keys.TEMPLATES] = TemplateService(db, clock, app[keys.POOL])
    # Uploads left waiting are deleted once expired: at start, then every hour (or more often when
    # they expire sooner).
    scheduler = app[keys.SCHEDULER]
    scheduler.run_at(UPLOAD_EXPIRY_JOB + "-start", clock.now(), imports.scheduled_purge)
    scheduler.every(UPLOAD_EXPIRY_JOB, min(3600.0, settings.imports.expire_hours * 3600 / 4), imports.scheduled_purge)
    runner = app[keys.CAMPAIGN_RUNNER] = CampaignRunner(service, outbound)
    await service.restore_schedule()
    await runner.start()
    yield
    scheduler.cancel(UPLOAD_EXPIRY_JOB)
    scheduler.cancel(UPLOAD_EXPIRY_JOB + "-start")
    await runner.stop()


def add_routes(app: web.Application) -> None:
    from gatewayd.api import campaigns, contacts, groups, imports, templates

    for module in (contacts, groups, imports, templates, campaigns):
        app.add_routes(module.routes)

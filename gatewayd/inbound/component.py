"""Lifecycle of the inbound part inside the app (cleanup_ctx) and its API routes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys
from gatewayd.inbound.service import InboundService

log = logging.getLogger(__name__)


async def inbound_ctx(app: web.Application) -> AsyncIterator[None]:
    """Register the SMS and call handlers on the modem router; flush stale long messages."""
    live = app[keys.LIVE_SETTINGS]
    service = app[keys.INBOUND] = InboundService(app[keys.DB], live.settings, app[keys.CLOCK], app[keys.OUTBOUND],
                                                 lines=app[keys.POOL], composer=app[keys.OUTBOUND].composer)
    live.subscribe(service.use_settings)
    router = app[keys.MODEM_EVENTS]
    router.incoming_sms = service.handle_sms
    router.sms_deleted = service.handle_deleted
    router.call = service.handle_call
    await service.start()
    yield
    # Unregistered first: an SMS arriving during shutdown stays on the modem (read again next start).
    router.incoming_sms = None
    router.sms_deleted = None
    router.call = None
    await service.stop()


def add_routes(app: web.Application) -> None:
    from gatewayd.api import autoreplies, calls, inbound, optouts, threads

    for module in (inbound, threads, optouts, calls, autoreplies):
        app.add_routes(module.routes)


def openapi_paths() -> dict[str, object]:
    """The inbound operations for the OpenAPI document (paths → operations)."""
    from gatewayd.api import autoreplies, calls, inbound, optouts, threads

    paths: dict[str, object] = {}
    for module in (inbound, threads, optouts, calls, autoreplies):
        paths.update(module.OPENAPI)
    return paths

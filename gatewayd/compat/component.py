"""The compatibility surfaces in the app: their routes, and the webhook envelopes they register."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from gatewayd import keys


async def compat_ctx(app: web.Application) -> AsyncIterator[None]:
    """SMS Gateway for Android's webhook envelope, for endpoints registered through its API."""
    from gatewayd.compat.android import AndroidEnvelope

    if keys.WEBHOOKS in app:
        app[keys.WEBHOOKS].envelopes["android"] = AndroidEnvelope(app)
    yield


def add_routes(app: web.Application) -> None:
    """Both surfaces' routes are always there; a surface switched off answers 404 (checked per
    request, so the switch needs no other wiring)."""
    from gatewayd.compat import android, smseagle

    app.add_routes(smseagle.routes)
    app.add_routes(android.routes)

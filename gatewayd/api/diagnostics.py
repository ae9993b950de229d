"""GET /api/v1/diagnostics: the support bundle as JSON (admin scope; secrets removed, numbers masked)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd.ops import diagnostics
from gatewayd.api.auth import require_scope
from gatewayd.api.openapi import describe

routes = web.RouteTableDef()

_OBJECT: dict[str, Any] = {"type": "object"}
BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What to attach to a support request. Modem PINs, webhook secrets and other secret-like "
                   "settings are removed, phone numbers partly masked, IMSI/ICCID keep only their network "
                   "or issuer prefix and last two digits; no message text is included.",
    "required": ["format", "generated_at", "versions", "system", "config", "lines", "messages", "database",
                 "recent_errors"],
    "properties": {
        "format": {"type": "integer", "description": "bundle layout version"},
        "generated_at": {"type": "string", "format": "date-time"},
        "daemon": {"type": "object", "description": "start time and uptime"},
        "versions": {"type": "object", "description": "gatewayd, Python, SQLite and key libraries"},
        "system": {"type": "object", "description": "OS, kernel, machine, memory, load, free disk space"},
        "config": {"type": "object", "description": "the configuration in force, secrets removed"},
        "config_changed_while_running": {"type": "object",
                                      "description": "sections changed in the console or through /api/v1/settings: "
                                                     "their keys, when and by whom"},
        "lines": {"type": "array", "items": _OBJECT,
                  "description": "state, model, firmware, operator, signal, IMEI, masked IMSI/ICCID, storage"},
        "messages": {"type": "object", "description": "counts by state, queue depth, scheduled, retries"},
        "totals": _OBJECT,
        "database": {"type": "object", "description": "file, WAL and SHM sizes, pages, schema versions"},
        "webhooks": {"type": "array", "items": _OBJECT, "description": "endpoints (URL credentials removed)"},
        "recent_errors": {"type": "object",
                          "description": "latest failed messages (error codes, reasons) and WARNING+ log records"},
    },
}


@routes.get("/api/v1/diagnostics")
@describe("Diagnostics bundle for a support request", tag="operations", scope="admin",
          responses={200: BUNDLE_SCHEMA})
async def get_diagnostics(request: web.Request) -> web.Response:
    """The diagnostics bundle (admin)."""
    await require_scope(request, "admin")
    return web.json_response(await diagnostics.gather(request.app))

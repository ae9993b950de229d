"""/api/v1/settings/{section} (admin scope): the settings that can change while the daemon runs
(`quiet_hours`, and in `optout` the STOP/START words and the confirmation texts), as the console's
Settings pages change them. A change is validated like the configuration file, applies at once and
replaces the file's values until DELETE puts them back."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import read_json
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.errors import InvalidInput, NotFound
from gatewayd.live_settings import EDITABLE, LiveSettings

routes = web.RouteTableDef()

SECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["section", "values", "file_values", "changed"],
    "properties": {
        "section": {"type": "string", "enum": sorted(EDITABLE)},
        "values": {"type": "object", "description": "the values in force for the keys that can change here"},
        "file_values": {"type": "object", "description": "the same keys as the configuration file sets them"},
        "changed": {"type": ["object", "null"],
                    "description": "null when the file's values apply; else {keys, changed_at, changed_by}"},
    },
}


def _section(request: web.Request) -> str:
    name = request.match_info["section"]
    if name not in EDITABLE:
        raise NotFound(f"no setting section {name!r} can change while running (these can: {', '.join(sorted(EDITABLE))})")
    return name


def section_json(live: LiveSettings, section: str) -> dict[str, Any]:
    editable = sorted(EDITABLE[section])
    now = getattr(live.settings, section).model_dump(mode="json")
    on_file = getattr(live.file, section).model_dump(mode="json")
    change = live.changed(section)
    return {"section": section, "values": {k: now[k] for k in editable}, "file_values": {k: on_file[k] for k in editable},
            "changed": None if change is None else {"keys": sorted(change.values), "changed_at": utc_iso(change.changed_at),
                                                    "changed_by": change.changed_by}}


@routes.get("/api/v1/settings/{section}")
@describe("Settings that can change while running: values in force, the file's, and who changed them",
          tag="settings", scope="admin", responses={200: SECTION_SCHEMA, 404: None})
async def get_section(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    return web.json_response(section_json(request.app[keys.LIVE_SETTINGS], _section(request)))


@routes.patch("/api/v1/settings/{section}")
@describe("Change some of a section's keys (validated like the configuration file; applies at once)",
          tag="settings", scope="admin", body={"type": "object", "description": "keys of the section and their new values"},
          responses={200: SECTION_SCHEMA, 404: None, 422: None})
async def patch_section(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")
    section = _section(request)
    data = await read_json(request)
    if not isinstance(data, dict) or not data:
        raise InvalidInput("body", "a JSON object with at least one key of the section")
    live = request.app[keys.LIVE_SETTINGS]
    await live.change(section, data, by=f"api {key.name}")
    return web.json_response(section_json(live, section))


@routes.delete("/api/v1/settings/{section}")
@describe("Back to the configuration file's values for this section", tag="settings", scope="admin",
          responses={200: SECTION_SCHEMA, 404: None})
async def reset_section(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")
    section = _section(request)
    live = request.app[keys.LIVE_SETTINGS]
    await live.reset(section, by=f"api {key.name}")
    return web.json_response(section_json(live, section))

"""Console views, one module per area; each exposes `pages` (a console.routing.Pages)."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

# (module, the app keys its services need). A module is mounted only when the keys exist in this
# build, so pages appear as the services they sit on land.
MODULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("account", ()),
    ("dashboard", ()),
    ("contacts", ("CONTACTS",)),
    ("groups", ("GROUPS",)),
    ("imports", ("IMPORTS",)),
    ("templates", ("CAMPAIGNS",)),
    ("campaigns", ("CAMPAIGNS",)),
    ("messages", ("OUTBOUND",)),
    ("discussions", ("INBOUND",)),
    ("received", ("INBOUND",)),
    ("exports", ("OUTBOUND", "INBOUND")),
    ("optouts", ("INBOUND", "IMPORTS")),
    ("calls", ("INBOUND",)),
    ("lines", ()),
    ("admin", ()),
    ("settings_more", ("INBOUND", "WEBHOOKS")),
    ("alerts", ("ALERTS", "EMAIL")),
)


NEEDS_ATTR = "__console_needs__"


def available(keys: Any) -> list[ModuleType]:
    """The view modules whose services are part of this build; each view remembers the app keys
    it needs, so a page whose service did not start answers 503 and leaves the menu."""
    found = []
    for name, needs in MODULES:
        if all(hasattr(keys, key) for key in needs):
            module = importlib.import_module(f"{__name__}.{name}")
            for route in module.pages.routes:
                setattr(route.handler, NEEDS_ATTR, tuple(getattr(keys, key) for key in needs))
            found.append(module)
    return found


def running(app: Any, handler: Any) -> bool:
    """Whether every service the view needs is in the app now."""
    return all(key in app for key in getattr(handler, NEEDS_ATTR, ()))

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
    ("admin", ()),
)


def available(keys: Any) -> list[ModuleType]:
    """The view modules whose services are part of this build."""
    found = []
    for name, needs in MODULES:
        if all(hasattr(keys, key) for key in needs):
            found.append(importlib.import_module(f"{__name__}.{name}"))
    return found

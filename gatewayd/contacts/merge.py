"""What an import row changes on a contact already in the base (pure).

The rule of an update: a non-empty cell replaces the stored value, an empty one leaves it; custom
fields are merged one by one; the first opt-in recorded is kept. The store's upsert applies the same
rule; this module says beforehand which contacts it changes, and how, so the analysis can show it and
the commit can leave unchanged contacts alone (a re-imported export changes nothing).
"""

from __future__ import annotations

import json
from typing import Any

from gatewayd.store.contacts import Contact

# Positions in a contact_store.bulk_row tuple.
_LAST, _FIRST, _EMAIL, _LANGUAGE, _FIELDS = 1, 2, 3, 4, 5


def changes(stored: Contact, row: tuple[Any, ...]) -> dict[str, list[str | None]]:
    """field -> [stored value, value after the import], for what the row would change."""
    out: dict[str, list[str | None]] = {}
    for name, index, old in (("last_name", _LAST, stored.last_name), ("first_name", _FIRST, stored.first_name),
                             ("email", _EMAIL, stored.email)):
        new = row[index]
        if new and new != old:
            out[name] = [old, new]
    if row[_LANGUAGE] is not None and row[_LANGUAGE] != stored.language:
        out["language"] = [stored.language, row[_LANGUAGE]]
    fields = row[_FIELDS]
    if fields and fields != "{}":
        for name, value in json.loads(fields).items():
            if stored.fields.get(name) != value:
                out[f"field:{name}"] = [stored.fields.get(name), value]
    return out

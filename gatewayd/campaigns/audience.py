"""Who a campaign reaches: groups, contacts, typed numbers and an uploaded file, resolved in batches."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiosqlite

from gatewayd.contacts import analysis as an
from gatewayd.contacts.importer import ImportService
from gatewayd.contacts.numbers import check_number
from gatewayd.errors import InvalidInput
from gatewayd.problems import Problem
from gatewayd.store import contacts as contact_store
from gatewayd.store import groups as group_store
from gatewayd.store import imports as import_store
from gatewayd.store.contacts import Contact

BATCH = 5000
MAX_TYPED_NUMBERS = 10_000


@dataclass(frozen=True)
class AudienceSpec:
    group_ids: tuple[int, ...] = ()
    contact_ids: tuple[int, ...] = ()
    numbers: tuple[str, ...] = ()
    file_import_id: int | None = None
    # Template variable -> {"source": a recipient value's key, "default": text} (campaigns/variables.py).
    variables: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"groups": list(self.group_ids), "contacts": list(self.contact_ids),
                               "numbers": list(self.numbers), "file": self.file_import_id}
        if self.variables:
            out["variables"] = {k: dict(v) for k, v in self.variables.items()}
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AudienceSpec:
        return cls(tuple(data.get("groups", ())), tuple(data.get("contacts", ())), tuple(data.get("numbers", ())),
                   data.get("file"), data.get("variables") or {})

    def is_empty(self) -> bool:
        return not (self.group_ids or self.contact_ids or self.numbers or self.file_import_id)


class Draft(NamedTuple):
    """One would-be recipient before dedupe and the opt-out check (template values built on demand).

    A named tuple: the preview and the launch's check build one per recipient of the audience."""

    number: str                     # E.164, or the raw text when invalid
    contact_id: int | None
    source: str                     # group | contact | number | file
    language: str | None
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    fields_json: str | None = None  # the contact's custom fields as stored
    file_vars: dict[str, str] | None = None
    invalid: str | None = None      # reason when the number cannot be used

    @property
    def values(self) -> dict[str, str]:
        """Template variables: custom fields, names, e-mail, mobile, and a file's columns."""
        out: dict[str, str] = json.loads(self.fields_json) if self.fields_json and self.fields_json != "{}" else {}
        if self.contact_id is not None:
            out.update(first_name=self.first_name, last_name=self.last_name, email=self.email)
        if self.file_vars:
            out.update(self.file_vars)
        out["mobile"] = self.number
        return out

    def row(self, state: str,
            exclusion: str | None) -> tuple[str, int | None, str, str | None, str | None, str, str | None]:
        vars_json = json.dumps(self.file_vars, ensure_ascii=False) if self.file_vars else None
        return (self.number, self.contact_id, self.source, vars_json, self.language, state, exclusion)


def _from_contact(c: Contact, source: str) -> Draft:
    return Draft(c.mobile, c.id, source, c.language, c.first_name, c.last_name, c.email,
                 json.dumps(dict(c.fields), ensure_ascii=False))


async def validate(conn: aiosqlite.Connection, spec: AudienceSpec) -> None:
    """InvalidInput naming the first group, contact or file that cannot be used."""
    if spec.is_empty():
        raise InvalidInput("audience", code="audience.empty")
    if len(spec.numbers) > MAX_TYPED_NUMBERS:
        raise InvalidInput("audience.numbers", code="audience.too_many_numbers", max=MAX_TYPED_NUMBERS)
    for i, gid in enumerate(spec.group_ids):
        if await group_store.get_in(conn, gid) is None:
            raise InvalidInput(f"audience.groups[{i}]", code="group.not_found_id", id=gid)
    found = {c.id for c in await contact_store.by_ids(conn, list(spec.contact_ids))}
    for i, cid in enumerate(spec.contact_ids):
        if cid not in found:
            raise InvalidInput(f"audience.contacts[{i}]", code="contact.not_found_id", id=cid)
    if spec.file_import_id is not None:
        row = await import_store.get_in(conn, spec.file_import_id)
        if row is None:
            raise InvalidInput("audience.file", code="import.not_found", id=spec.file_import_id)
        if row.analysis is None or "valid" not in row.analysis:
            raise InvalidInput("audience.file", code="import.not_analysed", id=spec.file_import_id)


async def size_bound(conn: aiosqlite.Connection, spec: AudienceSpec) -> int:
    """At most how many recipients the audience has: its parts added up (a number in two parts counts
    twice), cheap enough to check before anything is materialised."""
    total = len(spec.contact_ids) + len(spec.numbers)
    for gid in spec.group_ids:
        group = await group_store.get_in(conn, gid)
        total += group.members if group is not None else 0
    if spec.file_import_id is not None:
        row = await import_store.get_in(conn, spec.file_import_id)
        if row is not None and row.analysis is not None:
            total += int(row.analysis.get("valid", 0))
    return total


def cap_problem(size: int, cap: int) -> Problem | None:
    """The problem refusing an audience over the campaign cap, or None."""
    if size <= cap:
        return None
    return Problem("audience.over_cap", "audience", {"size": size, "cap": cap})


def file_variables(mapping: list[str]) -> list[str]:
    return [m[6:] for m in mapping if m.startswith("field:")] + [
        m for m in mapping if m in ("first_name", "last_name", "email")]


async def drafts(conn: aiosqlite.Connection, spec: AudienceSpec, *, region: str, imports: ImportService,
                 contacts: bool = True) -> AsyncIterator[list[Draft]]:
    """Every would-be recipient, in batches (groups, then contacts, numbers, file); never all at once.

    contacts=False leaves out groups and chosen contacts (launch inserts those in SQL)."""
    for gid in spec.group_ids if contacts else ():
        async for rows in group_store.audience_rows(conn, gid, size=BATCH):
            yield [Draft(r[1], r[0], "group", r[2], r[3], r[4], r[5], r[6]) for r in rows]
    for start in range(0, len(spec.contact_ids) if contacts else 0, BATCH):
        chosen = await contact_store.by_ids(conn, list(spec.contact_ids[start:start + BATCH]))
        yield [_from_contact(c, "contact") for c in chosen]
    for start in range(0, len(spec.numbers), BATCH):
        typed = spec.numbers[start:start + BATCH]
        checks = [(raw, check_number(raw, region)) for raw in typed]
        known = await contact_store.by_mobiles(conn, [c.e164 for _, c in checks if c.e164])
        batch = []
        for raw, check in checks:
            if check.e164 is None:
                batch.append(Draft(raw.strip()[:40], None, "number", None, invalid=check.reason))
            elif check.e164 in known:
                batch.append(_from_contact(known[check.e164], "number"))
            else:
                batch.append(Draft(check.e164, None, "number", None))
        yield batch
    if spec.file_import_id is not None:
        row = await import_store.get_in(conn, spec.file_import_id)
        if row is None or row.analysis is None:
            return
        mapping: list[str] = row.analysis["mapping"]
        columns = [(i, m[6:] if m.startswith("field:") else m) for i, m in enumerate(mapping)
                   if m.startswith("field:") or m in ("first_name", "last_name", "email")]
        lang_col = mapping.index("language") if "language" in mapping else None
        async for records in imports.spooled(spec.file_import_id):
            batch = []
            for _line, number, cells in records:
                file_vars = {name: cells[i].strip() for i, name in columns if i < len(cells) and cells[i].strip()}
                language = an.normalise_language(cells[lang_col]) if lang_col is not None and \
                    lang_col < len(cells) and cells[lang_col].strip() else None
                batch.append(Draft(number, None, "file", language, file_vars=file_vars))
            yield batch

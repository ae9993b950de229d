"""Contacts and groups: validation and the rules (unique number, 20 custom fields, static vs rule groups)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.contacts import analysis as an
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.phone import InvalidNumber, normalise
from gatewayd.store import campaigns as campaign_store
from gatewayd.store import contacts as store
from gatewayd.store import groups as group_store
from gatewayd.store.contacts import Contact, ContactData
from gatewayd.store.db import Database
from gatewayd.store.groups import Condition, Group


@dataclass(frozen=True)
class ContactInput:
    """A contact as a client sends it (mobile in any format the region understands)."""

    mobile: str
    last_name: str = ""
    first_name: str = ""
    email: str = ""
    language: str | None = None
    fields: Mapping[str, str | None] | None = None  # a None value erases that field
    optin_source: str | None = None
    optin_statement: str | None = None
    groups: tuple[int, ...] = ()


class ContactService:
    def __init__(self, db: Database, settings: Settings, clock: Clock) -> None:
        self.db = db
        self.settings = settings
        self.clock = clock

    def _data(self, given: ContactInput, known_fields: Sequence[str], actor: str | None,
              previous: Contact | None = None) -> ContactData:
        try:
            mobile = normalise(given.mobile, self.settings.sending.default_region)
        except InvalidNumber as exc:
            raise InvalidInput(problems=[exc.problem.at("mobile")]) from None
        email = given.email.strip()
        if email and not an.clean_email(email):
            raise InvalidInput("email", code="contact.bad_email")
        if given.language not in (None, "fr", "en"):
            raise InvalidInput("language", code="contact.bad_language")
        fields = dict(previous.fields) if previous and given.fields is None else {}
        names = {f.lower(): f for f in known_fields}
        for name, value in (given.fields or {}).items():
            if name.lower() not in names:
                raise InvalidInput(f"fields.{name}", code="field.undeclared", name=name)
            if value is None or str(value).strip() == "":
                fields.pop(names[name.lower()], None)
            else:
                fields[names[name.lower()]] = str(value).strip()[:500]
        now = self.clock.now()
        optin: tuple[str | None, datetime | None, str | None, str | None]
        if previous is not None and previous.optin_at is not None and given.optin_statement is None:
            optin = (previous.optin_source, previous.optin_at, previous.optin_statement, previous.optin_by)
        elif given.optin_statement:
            optin = (given.optin_source or "api", now, given.optin_statement.strip()[:1000], actor)
        else:
            optin = (None, None, None, None)
        return ContactData(mobile, given.last_name.strip()[:100], given.first_name.strip()[:100], email.lower(),
                           given.language, fields, *optin)

    async def create(self, given: ContactInput, actor: str | None) -> Contact:
        async with self.db.write() as conn:
            data = self._data(given, await store.field_names(conn), actor)
            existing = await store.by_mobile(conn, data.mobile)
            if existing is not None:
                raise Conflict(code="contact.number_taken", id=existing.id, number=data.mobile)
            contact_id = await store.insert(conn, data, self.clock.now())
            await self._set_groups(conn, contact_id, given.groups)
        return await self.get(contact_id)

    async def update(self, contact_id: int, given: ContactInput, actor: str | None) -> Contact:
        previous = await self.get(contact_id)
        async with self.db.write() as conn:
            data = self._data(given, await store.field_names(conn), actor, previous)
            owner = await store.by_mobile(conn, data.mobile)
            if owner is not None and owner.id != contact_id:
                raise Conflict(code="contact.number_taken", id=owner.id, number=data.mobile)
            await store.update(conn, contact_id, data, self.clock.now())
            await self._set_groups(conn, contact_id, given.groups)
        return await self.get(contact_id)

    async def _set_groups(self, conn: aiosqlite.Connection, contact_id: int, group_ids: Sequence[int]) -> None:
        """Add the contact to these static groups (never removes: group endpoints do that)."""
        for i, gid in enumerate(group_ids):
            group = await group_store.get_in(conn, gid)
            if group is None:
                raise InvalidInput(f"groups[{i}]", code="group.not_found_id", id=gid)
            if group.rule is not None:
                raise InvalidInput(f"groups[{i}]", code="group.rule_based", name=group.name)
            await group_store.add_members(conn, gid, [contact_id], self.clock.now())

    async def get(self, contact_id: int) -> Contact:
        contact = await store.get(self.db, contact_id)
        if contact is None:
            raise NotFound(code="contact.not_found_id", id=contact_id)
        return contact

    async def search(self, *, q: str | None, group_id: int | None, language: str | None, after_id: int,
                     limit: int) -> list[Contact]:
        """A page of contacts; a query that looks like a number searches numbers by prefix."""
        mobile_prefix = None
        text = (q or "").strip()
        digits = text.replace(" ", "").replace(".", "")
        if digits and (digits.lstrip("+").isdigit()) and len(digits.lstrip("+")) >= 2:
            mobile_prefix = _number_prefix(digits, self.settings.sending.default_region)
            text = ""
        return await store.search(self.db, q=text or None, mobile_prefix=mobile_prefix, group_id=group_id,
                                  language=language, after_id=after_id, limit=limit)

    async def delete_many(self, ids: Sequence[int]) -> int:
        """Delete contacts; what campaigns still had pending for them is dropped in the same transaction."""
        async with self.db.write() as conn:
            await campaign_store.exclude_contacts(conn, list(ids))
            return await store.delete_many(conn, list(ids))

    # --- custom fields ------------------------------------------------------------------------------

    async def fields(self) -> list[str]:
        async with self.db.read() as conn:
            return await store.field_names(conn)

    async def add_field(self, name: str) -> list[str]:
        name = name.strip()
        if not an.valid_field_name(name):
            raise InvalidInput("name", code="field.bad_name", name=name)
        async with self.db.write() as conn:
            names = await store.field_names(conn)
            if name.lower() in {n.lower() for n in names}:
                raise Conflict(code="field.exists", name=name)
            if len(names) >= an.MAX_CUSTOM_FIELDS:
                raise Conflict(code="field.too_many", max=an.MAX_CUSTOM_FIELDS)
            await store.add_field_names(conn, [name], self.clock.now())
            return await store.field_names(conn)

    async def remove_field(self, name: str) -> None:
        async with self.db.write() as conn:
            if not await store.remove_field_name(conn, name):
                raise NotFound(code="field.not_found", name=name)


def _number_prefix(digits: str, region: str) -> str:
    """'06 12' -> '+33612', '+336' -> '+336', '336' -> '+336' (a prefix of stored E.164 numbers)."""
    if digits.startswith("+"):
        return digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if digits.startswith("0"):
        import phonenumbers

        return f"+{phonenumbers.country_code_for_region(region)}{digits[1:]}"
    return "+" + digits


class GroupService:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def _fields(self) -> set[str]:
        async with self.db.read() as conn:
            return {f.lower() for f in await store.field_names(conn)}

    async def _check_rule(self, rule: Sequence[Condition] | None) -> None:
        if rule is None:
            return
        if not rule:
            raise InvalidInput("rule", code="group.rule_empty")
        fields = await self._fields()
        for i, cond in enumerate(rule):
            if cond.op not in group_store.OPS:
                raise InvalidInput(f"rule[{i}].op", code="group.rule_op", ops=", ".join(group_store.OPS))
            if cond.field not in group_store.BUILTIN_FIELDS and cond.field.lower() not in fields:
                raise InvalidInput(f"rule[{i}].field", code="group.rule_field", name=cond.field)

    async def create(self, name: str, description: str, rule: Sequence[Condition] | None) -> Group:
        if not name.strip():
            raise InvalidInput("name", code="group.name_required")
        await self._check_rule(rule)
        try:
            async with self.db.write() as conn:
                gid = await group_store.insert(conn, name=name.strip()[:100], description=description.strip()[:500],
                                               rule=rule, now=self.clock.now())
        except sqlite3.IntegrityError:
            raise Conflict(code="group.exists", name=name.strip()) from None
        return await self.get(gid)

    async def update(self, group_id: int, name: str, description: str, rule: Sequence[Condition] | None) -> Group:
        await self.get(group_id)
        await self._check_rule(rule)
        try:
            async with self.db.write() as conn:
                await group_store.update(conn, group_id, name=name.strip()[:100], description=description.strip()[:500],
                                         rule=rule, now=self.clock.now())
        except sqlite3.IntegrityError:
            raise Conflict(code="group.exists", name=name.strip()) from None
        return await self.get(group_id)

    async def get(self, group_id: int) -> Group:
        group = await group_store.get(self.db, group_id)
        if group is None:
            raise NotFound(code="group.not_found_id", id=group_id)
        return group

    async def delete(self, group_id: int) -> None:
        async with self.db.write() as conn:
            if not await group_store.delete(conn, group_id):
                raise NotFound(code="group.not_found_id", id=group_id)

    async def delete_contacts(self, group_id: int) -> int:
        """Delete every contact of the group (the group stays, empty); what campaigns still had pending
        for them is dropped in the same transaction. Returns how many were deleted."""
        await self.get(group_id)
        async with self.db.write() as conn:
            ids = await group_store.member_ids(conn, group_id)
            await campaign_store.exclude_contacts(conn, ids)
            return await store.delete_many(conn, ids)

    async def replace_members(self, group_id: int, numbers: Sequence[str]) -> dict[str, object]:
        """The static group's members become the contacts owning `numbers` (E.164), in one transaction;
        numbers without a contact are counted, not created (an import records consent, this does not)."""
        group = await self.get(group_id)
        if group.rule is not None:
            raise Conflict(code="group.rule_based", name=group.name)
        async with self.db.write() as conn:
            owners = await store.ids_for_mobiles(conn, list(numbers))
            removed = await group_store.clear_members(conn, group_id)
            await group_store.add_members(conn, group_id, list(owners.values()), self.clock.now())
        return {"members": len(owners), "previous_members": removed,
                "not_in_base": len([n for n in numbers if n not in owners])}

    async def change_members(self, group_id: int, add: Sequence[int], remove: Sequence[int]) -> Group:
        group = await self.get(group_id)
        if group.rule is not None:
            raise Conflict(code="group.rule_based", name=group.name)
        async with self.db.write() as conn:
            await group_store.add_members(conn, group_id, list(add), self.clock.now())
            await group_store.remove_members(conn, group_id, list(remove))
        return await self.get(group_id)

"""Contacts (one per E.164 mobile), their custom field names, search and bulk upsert."""

from __future__ import annotations

import json
import sqlite3
import unicodedata
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store.db import Database

_CHUNK = 500  # SQLite's parameter limit is far above this; small IN lists stay fast


@dataclass(frozen=True)
class ContactData:
    """What a contact holds, as written by the service or an import."""

    mobile: str
    last_name: str = ""
    first_name: str = ""
    email: str = ""
    language: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    optin_source: str | None = None
    optin_at: datetime | None = None
    optin_statement: str | None = None
    optin_by: str | None = None


@dataclass(frozen=True)
class Contact:
    id: int
    mobile: str
    last_name: str
    first_name: str
    email: str
    language: str | None
    fields: Mapping[str, str]
    optin_source: str | None
    optin_at: datetime | None
    optin_statement: str | None
    optin_by: str | None
    created_at: datetime
    updated_at: datetime
    groups: tuple[int, ...] = ()


def row_to_contact(r: sqlite3.Row, groups: tuple[int, ...] = ()) -> Contact:
    return Contact(r["id"], r["mobile"], r["last_name"], r["first_name"], r["email"], r["language"],
                   json.loads(r["fields"]), r["optin_source"], parse_iso(r["optin_at"]), r["optin_statement"],
                   r["optin_by"], parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]),
                   groups)


_COMBINING = dict.fromkeys(c for c in range(0x300, 0x370))


def fold_key(text: str) -> str:
    """Lower case without accents ('Hélène' -> 'helene'): the indexed search key of a name."""
    text = text.strip().lower()
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_COMBINING)


@lru_cache(maxsize=16)
def _iso(when: datetime | None) -> str | None:
    return utc_iso(when)  # an import stamps 200,000 rows with the same instant


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _fields_json(fields: Mapping[str, str]) -> str:
    return _ENCODER.encode(dict(fields)) if fields else "{}"


def _values(d: ContactData) -> tuple[object, ...]:
    return (d.mobile, d.last_name, d.first_name, d.email.lower(), d.language, _fields_json(d.fields),
            d.optin_source, _iso(d.optin_at), d.optin_statement, d.optin_by,
            fold_key(d.last_name), fold_key(d.first_name))


_COLS = ("mobile, last_name, first_name, email, language, fields, optin_source, optin_at, optin_statement,"
         " optin_by, key_last, key_first")
_MARKS = ",".join("?" * 14)


async def insert(conn: aiosqlite.Connection, data: ContactData, now: datetime) -> int:
    """Insert one contact; sqlite3.IntegrityError when the mobile already exists."""
    cur = await conn.execute(
        f"INSERT INTO contacts ({_COLS}, created_at, updated_at) VALUES ({_MARKS})",
        (*_values(data), utc_iso(now), utc_iso(now)))
    return int(cur.lastrowid or 0)


async def update(conn: aiosqlite.Connection, contact_id: int, data: ContactData, now: datetime) -> bool:
    """Replace every field of one contact; False when it does not exist."""
    cur = await conn.execute(
        "UPDATE contacts SET mobile=?, last_name=?, first_name=?, email=?, language=?, fields=?, optin_source=?,"
        " optin_at=?, optin_statement=?, optin_by=?, key_last=?, key_first=?, updated_at=? WHERE id=?",
        (*_values(data), utc_iso(now), contact_id))
    return cur.rowcount == 1


async def groups_of(conn: aiosqlite.Connection, ids: Sequence[int]) -> dict[int, tuple[int, ...]]:
    """contact id -> ids of the static groups it belongs to."""
    out: dict[int, list[int]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        marks = ",".join("?" * len(chunk))
        async with conn.execute(f"SELECT contact_id, group_id FROM group_members WHERE contact_id IN ({marks})"
                                " ORDER BY group_id", chunk) as cur:
            for r in await cur.fetchall():
                out.setdefault(r[0], []).append(r[1])
    return {k: tuple(v) for k, v in out.items()}


async def get(db: Database, contact_id: int) -> Contact | None:
    async with db.read() as conn:
        async with conn.execute("SELECT * FROM contacts WHERE id = ?", (contact_id,)) as cur:
            r = await cur.fetchone()
        if r is None:
            return None
        return row_to_contact(r, (await groups_of(conn, [contact_id])).get(contact_id, ()))


async def by_mobile(conn: aiosqlite.Connection, mobile: str) -> Contact | None:
    async with conn.execute("SELECT * FROM contacts WHERE mobile = ?", (mobile,)) as cur:
        r = await cur.fetchone()
    return row_to_contact(r) if r else None


def _words(text: str) -> list[str]:
    return fold_key("".join(c if c.isalnum() or c in "@.-_'" else " " for c in text)).split()


async def search(db: Database, *, q: str | None = None, mobile_prefix: str | None = None,
                 group_id: int | None = None, language: str | None = None,
                 after_id: int = 0, limit: int = 100) -> list[Contact]:
    """One page of contacts ordered by id (keyset on id), filtered by text, number prefix, group."""
    sql = "SELECT c.* FROM contacts c"
    where = ["c.id > ?"]
    args: list[object] = [after_id]
    if group_id is not None:
        sql += " JOIN group_members gm ON gm.contact_id = c.id AND gm.group_id = ?"
        args.insert(0, group_id)
    if mobile_prefix:
        # Range on the UNIQUE index: a prefix search that stays indexed.
        where.append("c.mobile >= ? AND c.mobile < ?")
        args += [mobile_prefix, mobile_prefix + "\uffff"]
    for word in _words(q or "")[:5]:
        # Each word is a prefix of the last name, the first name or the e-mail (all indexed).
        where.append("((c.key_last >= ? AND c.key_last < ?) OR (c.key_first >= ? AND c.key_first < ?)"
                     " OR (c.email >= ? AND c.email < ?))")
        args += [word, word + "\uffff"] * 3
    if language:
        where.append("c.language = ?")
        args.append(language)
    sql += " WHERE " + " AND ".join(where) + " ORDER BY c.id LIMIT ?"
    args.append(limit)
    async with db.read() as conn:
        async with conn.execute(sql, args) as cur:
            rows = await cur.fetchall()
        groups = await groups_of(conn, [r["id"] for r in rows])
    return [row_to_contact(r, groups.get(r["id"], ())) for r in rows]


async def count(db: Database) -> int:
    async with db.read() as conn, conn.execute("SELECT COUNT(*) FROM contacts") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def delete_many(conn: aiosqlite.Connection, ids: Sequence[int]) -> int:
    """Delete contacts by id (memberships go with them); returns how many existed."""
    deleted = 0
    for start in range(0, len(ids), _CHUNK):
        chunk = list(ids[start:start + _CHUNK])
        cur = await conn.execute(f"DELETE FROM contacts WHERE id IN ({','.join('?' * len(chunk))})", chunk)
        deleted += cur.rowcount
    return deleted


async def existing_mobiles(conn: aiosqlite.Connection, numbers: Sequence[str]) -> set[str]:
    """The subset of `numbers` that already belong to a contact."""
    found: set[str] = set()
    for start in range(0, len(numbers), _CHUNK):
        chunk = list(numbers[start:start + _CHUNK])
        async with conn.execute(f"SELECT mobile FROM contacts WHERE mobile IN ({','.join('?' * len(chunk))})",
                                chunk) as cur:
            found.update(r[0] for r in await cur.fetchall())
    return found


def bulk_row(mobile: str, last_name: str, first_name: str, email: str, language: str | None,
             fields: Mapping[str, str],
             optin: tuple[str | None, str | None, str | None, str | None]) -> tuple[Any, ...]:
    """One contact's column values for upsert_rows; optin = (source, at as RFC 3339, statement, by)."""
    return (mobile, last_name, first_name, email.lower(), language, _fields_json(fields), *optin,
            fold_key(last_name), fold_key(first_name))


async def upsert_many(conn: aiosqlite.Connection, rows: Sequence[ContactData], *, update_existing: bool,
                      now: datetime) -> tuple[int, int]:
    """upsert_rows for ContactData values."""
    return await upsert_rows(conn, [_values(r) for r in rows], update_existing=update_existing, now=now)


async def upsert_rows(conn: aiosqlite.Connection, rows: Sequence[tuple[Any, ...]], *, update_existing: bool,
                      now: datetime) -> tuple[int, int]:
    """Insert new contacts; update (non-empty values win, custom fields merged) or skip existing ones.

    Rows come from bulk_row. Returns (inserted, updated): a row that changes nothing is not counted
    as updated. Runs inside the caller's write transaction.
    One statement per row either way (ON CONFLICT), so existing numbers need no separate lookup."""
    async with conn.execute("SELECT COALESCE(MAX(id), 0) FROM contacts") as cur:
        row = await cur.fetchone()
    last_id = int(row[0]) if row else 0
    stamp = utc_iso(now)
    # An empty cell in the file does not erase what the base already knows; an opt-in already
    # recorded is kept (the first consent is the one that counts).
    on_conflict = (
        "DO UPDATE SET last_name = COALESCE(NULLIF(excluded.last_name, ''), last_name),"
        " first_name = COALESCE(NULLIF(excluded.first_name, ''), first_name),"
        " email = COALESCE(NULLIF(excluded.email, ''), email), language = COALESCE(excluded.language, language),"
        " fields = json_patch(fields, excluded.fields), updated_at = excluded.updated_at,"
        " key_last = COALESCE(NULLIF(excluded.key_last, ''), key_last),"
        " key_first = COALESCE(NULLIF(excluded.key_first, ''), key_first),"
        " optin_source = COALESCE(optin_source, excluded.optin_source),"
        " optin_at = COALESCE(optin_at, excluded.optin_at),"
        " optin_statement = COALESCE(optin_statement, excluded.optin_statement),"
        " optin_by = COALESCE(optin_by, excluded.optin_by)"
        # A row that would change nothing leaves the contact alone, updated_at included (an export
        # imported back changes nothing); contacts/merge.py says the same for the analysis.
        " WHERE (excluded.last_name <> '' AND excluded.last_name <> last_name)"
        " OR (excluded.first_name <> '' AND excluded.first_name <> first_name)"
        " OR (excluded.email <> '' AND excluded.email <> email)"
        " OR (excluded.language IS NOT NULL AND excluded.language IS NOT language)"
        " OR json_patch(fields, excluded.fields) <> fields") if update_existing else "DO NOTHING"
    before = conn.total_changes
    await conn.executemany(
        f"INSERT INTO contacts ({_COLS}, created_at, updated_at) VALUES ({_MARKS}) ON CONFLICT (mobile) {on_conflict}",
        [(*r, stamp, stamp) for r in rows])
    changed = conn.total_changes - before
    async with conn.execute("SELECT COUNT(*) FROM contacts WHERE id > ?", (last_id,)) as cur:
        row = await cur.fetchone()
    inserted = int(row[0]) if row else 0
    return inserted, (changed - inserted if update_existing else 0)


async def ids_for_mobiles(conn: aiosqlite.Connection, numbers: Sequence[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = list(numbers[start:start + _CHUNK])
        async with conn.execute(f"SELECT mobile, id FROM contacts WHERE mobile IN ({','.join('?' * len(chunk))})",
                                chunk) as cur:
            out.update({r[0]: r[1] for r in await cur.fetchall()})
    return out


async def batches(db: Database, *, group_id: int | None = None, size: int = 1000) -> AsyncIterator[list[Contact]]:
    """Every contact (or a static group's members) in id order, `size` at a time (exports)."""
    after = 0
    while True:
        page = await search(db, group_id=group_id, after_id=after, limit=size)
        if not page:
            return
        yield page
        after = page[-1].id


def json_path(name: str) -> str:
    """SQLite JSON path of a custom field, quoted so any name (spaces, dots) is one key."""
    return '$."' + name.replace('"', '""') + '"'


# --- custom field names --------------------------------------------------------------------------

async def field_names(conn: aiosqlite.Connection) -> list[str]:
    async with conn.execute("SELECT name FROM contact_fields ORDER BY position, name") as cur:
        return [r[0] for r in await cur.fetchall()]


async def add_field_names(conn: aiosqlite.Connection, names: Sequence[str], now: datetime) -> None:
    """Declare custom fields (existing names, case-insensitively, are kept as they are)."""
    await conn.executemany(
        "INSERT INTO contact_fields (name, position, created_at)"
        " VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM contact_fields), ?) ON CONFLICT DO NOTHING",
        [(n, utc_iso(now)) for n in names])


async def remove_field_name(conn: aiosqlite.Connection, name: str) -> bool:
    """Forget a custom field and erase its values from every contact."""
    cur = await conn.execute("DELETE FROM contact_fields WHERE name = ?", (name,))
    if cur.rowcount:
        await conn.execute("UPDATE contacts SET fields = json_remove(fields, ?) WHERE json_type(fields, ?) IS NOT NULL",
                           (json_path(name), json_path(name)))
    return cur.rowcount == 1


async def by_ids(conn: aiosqlite.Connection, ids: Sequence[int]) -> list[Contact]:
    """Contacts among `ids` that exist, in id order."""
    out: list[Contact] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = sorted(set(ids[start:start + _CHUNK]))
        async with conn.execute(f"SELECT * FROM contacts WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id",
                                chunk) as cur:
            out.extend(row_to_contact(r) for r in await cur.fetchall())
    return out


async def by_mobiles(conn: aiosqlite.Connection, numbers: Sequence[str]) -> dict[str, Contact]:
    out: dict[str, Contact] = {}
    for start in range(0, len(numbers), _CHUNK):
        chunk = list(numbers[start:start + _CHUNK])
        async with conn.execute(f"SELECT * FROM contacts WHERE mobile IN ({','.join('?' * len(chunk))})",
                                chunk) as cur:
            out.update((r["mobile"], row_to_contact(r)) for r in await cur.fetchall())
    return out


async def mobiles_named(conn: aiosqlite.Connection, name: str, *, limit: int = 10) -> list[str]:
    """Mobiles of the contacts called `name` ("first last", "last first", or one of the two alone),
    case and accents ignored; at most `limit`."""
    folded = " ".join(fold_key(name).split())
    async with conn.execute(
            "SELECT mobile FROM contacts WHERE key_first || ' ' || key_last = ?1 OR key_last || ' ' || key_first = ?1"
            " OR (instr(?1, ' ') = 0 AND (key_first = ?1 OR key_last = ?1)) ORDER BY id LIMIT ?2",
            (folded, limit)) as cur:
        return [r[0] for r in await cur.fetchall()]

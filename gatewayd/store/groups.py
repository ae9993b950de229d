"""Contact groups: static membership rows, or a rule evaluated against contacts when read."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from gatewayd.clock import parse_iso_required, utc_iso
from gatewayd.store.contacts import Contact, groups_of, json_path, row_to_contact
from gatewayd.store.db import Database

_CHUNK = 500
BUILTIN_FIELDS = ("last_name", "first_name", "email", "language", "mobile")
OPS = ("eq", "ne", "contains", "prefix", "empty", "not_empty")


@dataclass(frozen=True)
class Condition:
    """One test on a contact: `field` is a built-in column or a custom field name."""

    field: str
    op: str
    value: str = ""


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    description: str
    rule: tuple[Condition, ...] | None  # None: static membership
    members: int
    created_at: datetime
    updated_at: datetime


def rule_sql(rule: Sequence[Condition]) -> tuple[str, list[object]]:
    """WHERE fragment (over alias c) and its parameters; names are never spliced into the SQL."""
    parts: list[str] = []
    args: list[object] = []
    for cond in rule:
        if cond.op not in OPS:
            raise ValueError(f"unknown operator {cond.op!r}")
        if cond.field in BUILTIN_FIELDS:
            col = f"COALESCE(c.{cond.field}, '')"  # field checked against the fixed list above
        else:
            col = "COALESCE(json_extract(c.fields, ?), '')"
            args.append(json_path(cond.field))
        if cond.op == "eq":
            parts.append(f"lower({col}) = lower(?)")
        elif cond.op == "ne":
            parts.append(f"lower({col}) <> lower(?)")
        elif cond.op == "contains":
            parts.append(f"instr(lower({col}), lower(?)) > 0")
        elif cond.op == "prefix":
            parts.append(f"substr(lower({col}), 1, length(?)) = lower(?)")
            args.append(cond.value)
        elif cond.op == "empty":
            parts.append(f"{col} = ''")
        else:
            parts.append(f"{col} <> ''")
        if cond.op not in ("empty", "not_empty"):
            args.append(cond.value)
    return (" AND ".join(parts) or "1"), args


def _rule_json(rule: Sequence[Condition] | None) -> str | None:
    if rule is None:
        return None
    return json.dumps([{"field": c.field, "op": c.op, "value": c.value} for c in rule], ensure_ascii=False)


def parse_rule(text: str | None) -> tuple[Condition, ...] | None:
    if text is None:
        return None
    return tuple(Condition(d["field"], d["op"], d.get("value", "")) for d in json.loads(text))


async def _count(conn: aiosqlite.Connection, group_id: int, rule: tuple[Condition, ...] | None) -> int:
    args: list[object]
    if rule is None:
        sql, args = "SELECT COUNT(*) FROM group_members WHERE group_id = ?", [group_id]
    else:
        where, args = rule_sql(rule)
        sql = f"SELECT COUNT(*) FROM contacts c WHERE {where}"
    async with conn.execute(sql, args) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def _group(conn: aiosqlite.Connection, r: sqlite3.Row) -> Group:
    rule = parse_rule(r["rule"])
    return Group(r["id"], r["name"], r["description"], rule, await _count(conn, r["id"], rule),
                 parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]))


async def insert(conn: aiosqlite.Connection, *, name: str, description: str,
                 rule: Sequence[Condition] | None, now: datetime) -> int:
    """New group; sqlite3.IntegrityError when the name (case-insensitive) exists."""
    cur = await conn.execute(
        "INSERT INTO contact_groups (name, description, rule, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (name, description, _rule_json(rule), utc_iso(now), utc_iso(now)))
    return int(cur.lastrowid or 0)


async def update(conn: aiosqlite.Connection, group_id: int, *, name: str, description: str,
                 rule: Sequence[Condition] | None, now: datetime) -> bool:
    cur = await conn.execute(
        "UPDATE contact_groups SET name = ?, description = ?, rule = ?, updated_at = ? WHERE id = ?",
        (name, description, _rule_json(rule), utc_iso(now), group_id))
    if cur.rowcount and rule is not None:
        await conn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    return cur.rowcount == 1


async def delete(conn: aiosqlite.Connection, group_id: int) -> bool:
    cur = await conn.execute("DELETE FROM contact_groups WHERE id = ?", (group_id,))
    return cur.rowcount == 1


async def get(db: Database, group_id: int) -> Group | None:
    async with db.read() as conn:
        return await get_in(conn, group_id)


async def get_in(conn: aiosqlite.Connection, group_id: int) -> Group | None:
    async with conn.execute("SELECT * FROM contact_groups WHERE id = ?", (group_id,)) as cur:
        r = await cur.fetchone()
    return await _group(conn, r) if r else None


async def by_names(conn: aiosqlite.Connection, names: Sequence[str]) -> dict[str, int]:
    """Existing groups among `names` (case-insensitive) → id, keyed by the lower-cased name."""
    out: dict[str, int] = {}
    for name in names:
        async with conn.execute("SELECT id FROM contact_groups WHERE name = ?", (name,)) as cur:
            r = await cur.fetchone()
        if r:
            out[name.lower()] = r[0]
    return out


async def names_by_id(conn: aiosqlite.Connection) -> dict[int, str]:
    """Every static group's name by id (exports name groups; a box has tens of them, not thousands)."""
    async with conn.execute("SELECT id, name FROM contact_groups WHERE rule IS NULL") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def list_page(db: Database, *, after_id: int = 0, limit: int = 100) -> list[Group]:
    async with db.read() as conn:
        async with conn.execute("SELECT * FROM contact_groups WHERE id > ? ORDER BY id LIMIT ?",
                                (after_id, limit)) as cur:
            rows = await cur.fetchall()
        return [await _group(conn, r) for r in rows]


async def add_members(conn: aiosqlite.Connection, group_id: int, contact_ids: Sequence[int], now: datetime) -> int:
    """Add contacts to a static group (already members are left alone); returns how many were new."""
    before = conn.total_changes
    await conn.executemany(
        "INSERT INTO group_members (group_id, contact_id, added_at) SELECT ?, id, ? FROM contacts WHERE id = ?"
        " ON CONFLICT DO NOTHING", [(group_id, utc_iso(now), cid) for cid in contact_ids])
    return conn.total_changes - before


async def add_members_by_mobile(conn: aiosqlite.Connection, group_ids: Sequence[int], mobiles: Sequence[str],
                                now: datetime) -> None:
    """Add the contacts owning `mobiles` to each static group (imports)."""
    stamp = utc_iso(now)
    for gid in group_ids:
        for start in range(0, len(mobiles), _CHUNK):
            chunk = list(mobiles[start:start + _CHUNK])
            await conn.execute(
                "INSERT INTO group_members (group_id, contact_id, added_at) SELECT ?, id, ? FROM contacts"
                f" WHERE mobile IN ({','.join('?' * len(chunk))}) ON CONFLICT DO NOTHING", [gid, stamp, *chunk])


async def member_ids(conn: aiosqlite.Connection, group_id: int) -> list[int]:
    """Ids of the group's contacts, static or rule (ints only: 200,000 of them fit in a few MB)."""
    async with conn.execute("SELECT rule FROM contact_groups WHERE id = ?", (group_id,)) as cur:
        g = await cur.fetchone()
    if g is None:
        return []
    rule = parse_rule(g[0])
    args: list[object]
    if rule is None:
        sql, args = "SELECT contact_id FROM group_members WHERE group_id = ? ORDER BY contact_id", [group_id]
    else:
        where, args = rule_sql(rule)
        sql = f"SELECT c.id FROM contacts c WHERE {where} ORDER BY c.id"
    async with conn.execute(sql, args) as cur:
        return [r[0] for r in await cur.fetchall()]


async def clear_members(conn: aiosqlite.Connection, group_id: int) -> int:
    cur = await conn.execute("DELETE FROM group_members WHERE group_id = ?", (group_id,))
    return cur.rowcount


async def remove_members(conn: aiosqlite.Connection, group_id: int, contact_ids: Sequence[int]) -> int:
    removed = 0
    for start in range(0, len(contact_ids), _CHUNK):
        chunk = list(contact_ids[start:start + _CHUNK])
        cur = await conn.execute(
            f"DELETE FROM group_members WHERE group_id = ? AND contact_id IN ({','.join('?' * len(chunk))})",
            [group_id, *chunk])
        removed += cur.rowcount
    return removed


async def member_batches(conn: aiosqlite.Connection, group_id: int, *,
                         size: int = 2000) -> AsyncIterator[list[Contact]]:
    """Every contact of a group (static or rule), in id order, `size` at a time (never all at once)."""
    async with conn.execute("SELECT rule FROM contact_groups WHERE id = ?", (group_id,)) as cur:
        g = await cur.fetchone()
    if g is None:
        return
    rule = parse_rule(g[0])
    after = 0
    while True:
        if rule is None:
            sql = ("SELECT c.* FROM group_members gm JOIN contacts c ON c.id = gm.contact_id"
                   " WHERE gm.group_id = ? AND gm.contact_id > ? ORDER BY gm.contact_id LIMIT ?")
            args: list[object] = [group_id, after, size]
        else:
            where, args = rule_sql(rule)
            sql = f"SELECT c.* FROM contacts c WHERE {where} AND c.id > ? ORDER BY c.id LIMIT ?"
            args += [after, size]
        async with conn.execute(sql, args) as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return
        memberships = await groups_of(conn, [r["id"] for r in rows])
        yield [row_to_contact(r, memberships.get(r["id"], ())) for r in rows]
        after = rows[-1]["id"]


AUDIENCE_COLUMNS = "c.id, c.mobile, c.language, c.first_name, c.last_name, c.email, c.fields"


async def audience_rows(conn: aiosqlite.Connection, group_id: int, *,
                        size: int = 5000) -> AsyncIterator[list[sqlite3.Row]]:
    """(id, mobile, language, first_name, last_name, email, fields) of a group's contacts, in batches:
    what a campaign needs, without building whole Contact values for 200,000 people."""
    async with conn.execute("SELECT rule FROM contact_groups WHERE id = ?", (group_id,)) as cur:
        g = await cur.fetchone()
    if g is None:
        return
    rule = parse_rule(g[0])
    after = 0
    while True:
        if rule is None:
            sql = (f"SELECT {AUDIENCE_COLUMNS} FROM group_members gm JOIN contacts c ON c.id = gm.contact_id"
                   " WHERE gm.group_id = ? AND gm.contact_id > ? ORDER BY gm.contact_id LIMIT ?")
            args: list[object] = [group_id, after, size]
        else:
            where, args = rule_sql(rule)
            sql = f"SELECT {AUDIENCE_COLUMNS} FROM contacts c WHERE {where} AND c.id > ? ORDER BY c.id LIMIT ?"
            args += [after, size]
        async with conn.execute(sql, args) as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return
        yield rows
        after = rows[-1][0]

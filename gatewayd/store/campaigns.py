"""Campaigns, their templates per language and their recipients (one row per number per campaign)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import aiosqlite

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.problems import Problem, english, is_coded
from gatewayd.store.db import Database
from gatewayd.store.groups import parse_rule, rule_sql

FINAL_STATES = ("completed", "canceled")
_CHUNK = 500


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    tag: str
    category: str
    state: str
    line: str | None
    audience: dict[str, Any]
    stop_mention: str
    scheduled_at: datetime | None
    started_at: datetime | None
    paused_at: datetime | None
    pause_reason: str | None
    finished_at: datetime | None
    resumed_at: datetime | None
    duplicates: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    templates: dict[str, int] = field(default_factory=dict)  # 'default' | 'fr' | 'en' -> template id
    timing: dict[str, Any] | None = None         # reminder or recurring (campaigns/timing.py)
    timing_report: dict[str, Any] | None = None  # what launch planned: recipients skipped and why
    parent_id: int | None = None                 # the recurring campaign this occurrence comes from
    pause_code: dict[str, Any] | None = None     # why it is paused, as a problem's data (automatic pauses)

    @property
    def transliterate(self) -> bool | None:
        """The campaign's own GSM-7 look-alikes switch (None: each template's, else the site's)."""
        value = self.audience.get("transliterate")
        return value if isinstance(value, bool) else None


class PendingRecipient(NamedTuple):
    """A recipient to send, with what its template needs (contact fields, or the file's columns)."""

    id: int
    number: str
    contact_id: int | None
    language: str | None
    values: dict[str, str]


# An automatic pause stores its reason as a problem's data (JSON, gatewayd.problems) in pause_reason,
# so the console can word it in the viewer's language; a person's pause keeps their own words. Only
# codes of this prefix are read back as codes: a person's text is never taken for one.
AUTO_PAUSE_PREFIX = '{"code": "campaign.auto_paused'


def encode_pause(problem: Problem) -> str:
    """The pause_reason column for an automatic pause."""
    return json.dumps(problem.as_data(), ensure_ascii=False)


def decode_pause(raw: str | None) -> tuple[str | None, dict[str, Any] | None]:
    """(English reason, problem data or None) of a pause_reason column."""
    if raw is None or not raw.startswith(AUTO_PAUSE_PREFIX):
        return raw, None
    try:
        data = json.loads(raw)
    except ValueError:
        return raw, None
    if not is_coded(data):
        return raw, None
    return english(data["code"], data.get("params") or {}), data


def _campaign(r: sqlite3.Row, templates: dict[str, int]) -> Campaign:
    reason, code = decode_pause(r["pause_reason"])
    return Campaign(r["id"], r["name"], r["tag"], r["category"], r["state"], r["line"], json.loads(r["audience"]),
                    r["stop_mention"], parse_iso(r["scheduled_at"]), parse_iso(r["started_at"]),
                    parse_iso(r["paused_at"]), reason, parse_iso(r["finished_at"]),
                    parse_iso(r["resumed_at"]),
                    r["duplicates"],
                    r["created_by"], parse_iso_required(r["created_at"]), parse_iso_required(r["updated_at"]),
                    templates, json.loads(r["timing"]) if r["timing"] else None,
                    json.loads(r["timing_report"]) if r["timing_report"] else None, r["parent_id"], code)


async def insert(conn: aiosqlite.Connection, *, name: str, tag: str, category: str, line: str | None,
                 audience: dict[str, Any], stop_mention: str, templates: dict[str, int], created_by: str | None,
                 now: datetime, timing: dict[str, Any] | None = None, parent_id: int | None = None) -> int:
    cur = await conn.execute(
        "INSERT INTO campaigns (name, tag, category, state, line, audience, stop_mention, created_by, created_at,"
        " updated_at, timing, parent_id) VALUES (?, ?, ?, 'draft', ?, ?, ?, ?, ?, ?, ?, ?)",
        (name, tag, category, line, json.dumps(audience, ensure_ascii=False), stop_mention, created_by,
         utc_iso(now), utc_iso(now), json.dumps(timing) if timing else None, parent_id))
    campaign_id = int(cur.lastrowid or 0)
    await conn.executemany("INSERT INTO campaign_templates (campaign_id, language, template_id) VALUES (?, ?, ?)",
                           [(campaign_id, lang, tid) for lang, tid in templates.items()])
    return campaign_id


async def update_draft(conn: aiosqlite.Connection, campaign_id: int, *, name: str, tag: str, category: str,
                       line: str | None, audience: dict[str, Any], stop_mention: str, templates: dict[str, int],
                       now: datetime) -> bool:
    """Replace what a draft says (name, tag, category, line, audience, templates); False when the
    campaign is no longer a draft (launched or scheduled meanwhile) or does not exist."""
    cur = await conn.execute(
        "UPDATE campaigns SET name = ?, tag = ?, category = ?, line = ?, audience = ?, stop_mention = ?,"
        " updated_at = ? WHERE id = ? AND state = 'draft'",
        (name, tag, category, line, json.dumps(audience, ensure_ascii=False), stop_mention, utc_iso(now),
         campaign_id))
    if cur.rowcount != 1:
        return False
    await conn.execute("DELETE FROM campaign_templates WHERE campaign_id = ?", (campaign_id,))
    await conn.executemany("INSERT INTO campaign_templates (campaign_id, language, template_id) VALUES (?, ?, ?)",
                           [(campaign_id, lang, tid) for lang, tid in templates.items()])
    return True


async def set_audience(conn: aiosqlite.Connection, campaign_id: int, audience: dict[str, Any], now: datetime,
                       states: Sequence[str]) -> bool:
    """Replace the audience JSON (with its variable mapping) while the campaign is in one of `states`."""
    cur = await conn.execute(
        f"UPDATE campaigns SET audience = ?, updated_at = ? WHERE id = ? AND state IN ({','.join('?' * len(states))})",
        (json.dumps(audience, ensure_ascii=False), utc_iso(now), campaign_id, *states))
    return cur.rowcount == 1


async def set_timing_report(conn: aiosqlite.Connection, campaign_id: int, report: dict[str, Any]) -> None:
    await conn.execute("UPDATE campaigns SET timing_report = ? WHERE id = ?",
                       (json.dumps(report, ensure_ascii=False), campaign_id))


async def set_scheduled_at(conn: aiosqlite.Connection, campaign_id: int, when: datetime, now: datetime) -> bool:
    """A recurring campaign's next occurrence (it stays scheduled)."""
    cur = await conn.execute("UPDATE campaigns SET scheduled_at = ?, updated_at = ? WHERE id = ? AND state = 'scheduled'",
                             (utc_iso(when), utc_iso(now), campaign_id))
    return cur.rowcount == 1


async def next_send_times(conn: aiosqlite.Connection, campaign_id: int, limit: int = 3) -> list[datetime]:
    """The earliest times at which pending reminders of the campaign are due (distinct)."""
    async with conn.execute(
            "SELECT DISTINCT send_at FROM campaign_recipients WHERE campaign_id = ? AND state = 'pending'"
            " AND send_at IS NOT NULL ORDER BY send_at LIMIT ?", (campaign_id, limit)) as cur:
        return [t for r in await cur.fetchall() if (t := parse_iso(r[0])) is not None]


async def pending_count(conn: aiosqlite.Connection, campaign_id: int) -> int:
    async with conn.execute("SELECT COUNT(*) FROM campaign_recipients WHERE campaign_id = ? AND state = 'pending'",
                            (campaign_id,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def occurrences(conn: aiosqlite.Connection, parent_id: int, limit: int = 20) -> list[tuple[int, str, str | None]]:
    """(id, state, started_at) of a recurring campaign's occurrences, newest first."""
    async with conn.execute("SELECT id, state, started_at FROM campaigns WHERE parent_id = ? ORDER BY id DESC LIMIT ?",
                            (parent_id, limit)) as cur:
        return [(r[0], r[1], r[2]) for r in await cur.fetchall()]


async def get_in(conn: aiosqlite.Connection, campaign_id: int) -> Campaign | None:
    async with conn.execute("SELECT * FROM campaigns WHERE id = ?", (campaign_id,)) as cur:
        r = await cur.fetchone()
    if r is None:
        return None
    async with conn.execute("SELECT language, template_id FROM campaign_templates WHERE campaign_id = ?",
                            (campaign_id,)) as cur:
        templates = {t[0]: t[1] for t in await cur.fetchall()}
    return _campaign(r, templates)


async def get(db: Database, campaign_id: int) -> Campaign | None:
    async with db.read() as conn:
        return await get_in(conn, campaign_id)


async def list_page(db: Database, *, after_id: int | None = None, limit: int = 50, state: str | None = None,
                    tag: str | None = None) -> list[Campaign]:
    """Newest first (keyset on id)."""
    sql = "SELECT id FROM campaigns WHERE id < ?"
    args: list[object] = [after_id or 2**62]
    if state:
        sql += " AND state = ?"
        args.append(state)
    if tag is not None:
        sql += " AND tag = ?"
        args.append(tag)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(limit)
    async with db.read() as conn:
        async with conn.execute(sql, args) as cur:
            ids = [r[0] for r in await cur.fetchall()]
        out = [await get_in(conn, i) for i in ids]
    return [c for c in out if c is not None]


async def delete(conn: aiosqlite.Connection, campaign_id: int) -> bool:
    cur = await conn.execute("DELETE FROM campaigns WHERE id = ? AND state = 'draft'", (campaign_id,))
    return cur.rowcount == 1


async def transition(conn: aiosqlite.Connection, campaign_id: int, from_states: Sequence[str], to_state: str,
                     now: datetime, **columns: Any) -> bool:
    """Move a campaign to `to_state` only from one of `from_states` (atomic check-and-set)."""
    sets = ["state = ?", "updated_at = ?"]
    args: list[Any] = [to_state, utc_iso(now)]
    for col, value in columns.items():
        if col not in ("scheduled_at", "started_at", "paused_at", "pause_reason", "finished_at", "resumed_at"):
            raise ValueError(f"not a campaign timestamp column: {col}")
        sets.append(f"{col} = ?")
        args.append(utc_iso(value) if isinstance(value, datetime) else value)
    marks = ",".join("?" * len(from_states))
    cur = await conn.execute(f"UPDATE campaigns SET {', '.join(sets)} WHERE id = ? AND state IN ({marks})",
                             [*args, campaign_id, *from_states])
    return cur.rowcount == 1


async def ids_in_state(db: Database, state: str) -> list[tuple[int, datetime | None]]:
    """(id, scheduled_at) of every campaign in `state` (scheduler restore, runner)."""
    async with db.read() as conn, conn.execute(
            "SELECT id, scheduled_at FROM campaigns WHERE state = ? ORDER BY id", (state,)) as cur:
        return [(r[0], parse_iso(r[1])) for r in await cur.fetchall()]


async def add_duplicates(conn: aiosqlite.Connection, campaign_id: int, count: int) -> None:
    if count:
        await conn.execute("UPDATE campaigns SET duplicates = duplicates + ? WHERE id = ?", (count, campaign_id))


# --- recipients ----------------------------------------------------------------------------------

async def add_recipients(conn: aiosqlite.Connection, campaign_id: int, rows: Sequence[tuple[Any, ...]],
                         now: datetime) -> int:
    """Insert (number, contact_id, source, vars_json, language, state, exclusion[, send_at]) rows; a
    number already in the campaign is never added again. Returns how many were new."""
    before = conn.total_changes
    stamp = utc_iso(now)
    await conn.executemany(
        "INSERT INTO campaign_recipients (campaign_id, number, contact_id, source, vars, language, state, exclusion,"
        " added_at, send_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (campaign_id, number) DO NOTHING",
        [(campaign_id, *r[:7], stamp, utc_iso(r[7]) if len(r) > 7 else None) for r in rows])
    return conn.total_changes - before


_OPTED_OUT = "EXISTS (SELECT 1 FROM opt_outs_current o WHERE o.number = c.mobile)"


async def _insert_contacts_as_recipients(conn: aiosqlite.Connection, campaign_id: int, source: str,
                                         from_where: str, args: Sequence[object], exclude_opted_out: bool,
                                         now: datetime) -> tuple[int, int]:
    """INSERT … SELECT over `from_where` (alias c = contacts): no Python per recipient."""
    async with conn.execute(f"SELECT COUNT(*) {from_where}", args) as cur:
        row = await cur.fetchone()
    candidates = int(row[0]) if row else 0
    blocked = _OPTED_OUT if exclude_opted_out else "0"
    before = conn.total_changes
    await conn.execute(
        "INSERT INTO campaign_recipients (campaign_id, number, contact_id, source, vars, language, state, exclusion,"
        f" added_at) SELECT ?, c.mobile, c.id, ?, NULL, c.language,"
        f" CASE WHEN {blocked} THEN 'excluded' ELSE 'pending' END,"
        f" CASE WHEN {blocked} THEN 'opted_out' END, ? {from_where} ORDER BY c.id"
        " ON CONFLICT (campaign_id, number) DO NOTHING",
        [campaign_id, source, utc_iso(now), *args])
    return candidates, conn.total_changes - before


async def add_group_recipients(conn: aiosqlite.Connection, campaign_id: int, group_id: int, *,
                               exclude_opted_out: bool, now: datetime) -> tuple[int, int]:
    """Every contact of a group (static or rule) as a recipient; (candidates, inserted).

    Numbers already in the campaign are left alone, so candidates - inserted are duplicates."""
    async with conn.execute("SELECT rule FROM contact_groups WHERE id = ?", (group_id,)) as cur:
        g = await cur.fetchone()
    if g is None:
        return 0, 0
    if g[0] is None:
        from_where = "FROM group_members gm JOIN contacts c ON c.id = gm.contact_id WHERE gm.group_id = ?"
        args: list[object] = [group_id]
    else:
        where, args = rule_sql(parse_rule(g[0]) or ())
        from_where = f"FROM contacts c WHERE {where}"
    return await _insert_contacts_as_recipients(conn, campaign_id, "group", from_where, args, exclude_opted_out, now)


async def add_contact_recipients(conn: aiosqlite.Connection, campaign_id: int, contact_ids: Sequence[int], *,
                                 exclude_opted_out: bool, now: datetime) -> tuple[int, int]:
    """Chosen contacts as recipients; (candidates, inserted)."""
    candidates = inserted = 0
    for start in range(0, len(contact_ids), _CHUNK):
        chunk = list(contact_ids[start:start + _CHUNK])
        c, i = await _insert_contacts_as_recipients(
            conn, campaign_id, "contact", f"FROM contacts c WHERE c.id IN ({','.join('?' * len(chunk))})", chunk,
            exclude_opted_out, now)
        candidates += c
        inserted += i
    return candidates, inserted


async def pending(conn: aiosqlite.Connection, campaign_id: int, limit: int,
                  due_by: datetime | None = None) -> list[PendingRecipient]:
    """The next recipients to send, oldest first, with the values their template may use; with
    `due_by` (reminders), only those whose send time has come, earliest first."""
    base = ("SELECT r.id, r.number, r.contact_id, r.vars, c.first_name, c.last_name, c.email,"
            " COALESCE(c.language, r.language), c.fields"
            " FROM campaign_recipients r LEFT JOIN contacts c ON c.id = r.contact_id"
            " WHERE r.campaign_id = ? AND r.state = 'pending'")
    args: tuple[object, ...]
    if due_by is None:
        sql, args = base + " ORDER BY r.id LIMIT ?", (campaign_id, limit)
    else:
        sql = base + " AND r.send_at IS NOT NULL AND r.send_at <= ? ORDER BY r.send_at, r.id LIMIT ?"
        args = (campaign_id, utc_iso(due_by), limit)
    async with conn.execute(sql, args) as cur:
        rows = await cur.fetchall()
    out = []
    loads = json.loads
    for rid, number, contact_id, vars_json, first, last, email, language, fields in rows:
        values: dict[str, str] = {}
        if fields is not None:  # the contact still exists
            if fields != "{}":
                values.update(loads(fields))
            values["first_name"], values["last_name"], values["email"] = first, last, email
        if vars_json:
            values.update(loads(vars_json))
        values["mobile"] = number
        out.append(PendingRecipient(rid, number, contact_id, language, values))
    return out


async def mark_submitted(conn: aiosqlite.Connection, pairs: Sequence[tuple[int, int]], now: datetime) -> None:
    """(recipient id, message id) pairs: handed to outbound in this same transaction.

    Recipients and their messages are usually numbered alike (both consecutive), so each such run
    is one UPDATE over an id range instead of one per recipient."""
    stamp = utc_iso(now)
    runs: list[tuple[int, str | None, int, int]] = []
    for rid, mid in pairs:
        if runs and rid == runs[-1][3] + 1 and mid - rid == runs[-1][0]:
            runs[-1] = (runs[-1][0], stamp, runs[-1][2], rid)
        else:
            runs.append((mid - rid, stamp, rid, rid))
    await conn.executemany(
        "UPDATE campaign_recipients SET state = 'submitted', message_id = id + ?, submitted_at = ?"
        " WHERE id BETWEEN ? AND ?", runs)


async def back_to_pending(conn: aiosqlite.Connection, recipient_ids: Sequence[int]) -> None:
    """Recipients whose message was canceled before sending (pause/cancel) wait again."""
    await conn.executemany(
        "UPDATE campaign_recipients SET state = 'pending', message_id = NULL, submitted_at = NULL WHERE id = ?",
        [(rid,) for rid in recipient_ids])


async def exclude_pending(conn: aiosqlite.Connection, campaign_id: int, numbers: Sequence[str]) -> None:
    """Pending recipients who opted out since they were added are excluded, not sent."""
    for start in range(0, len(numbers), _CHUNK):
        chunk = list(numbers[start:start + _CHUNK])
        await conn.execute(
            "UPDATE campaign_recipients SET state = 'excluded', exclusion = 'opted_out' WHERE campaign_id = ?"
            f" AND state = 'pending' AND number IN ({','.join('?' * len(chunk))})", [campaign_id, *chunk])


async def recipient_counts(conn: aiosqlite.Connection, campaign_id: int) -> dict[str, int]:
    """pending / submitted / excluded_opted_out / excluded_invalid counts."""
    async with conn.execute(
            "SELECT state, COALESCE(exclusion, ''), COUNT(*) FROM campaign_recipients WHERE campaign_id = ?"
            " GROUP BY 1, 2", (campaign_id,)) as cur:
        rows = await cur.fetchall()
    out = {"pending": 0, "submitted": 0, "excluded_opted_out": 0, "excluded_invalid": 0, "excluded_deleted": 0,
           "excluded_text": 0}
    for state, exclusion, n in rows:
        out[f"excluded_{exclusion}" if state == "excluded" else state] = n
    return out


# --- how the campaign's messages ended (outbound's ledger, joined through message_id) -----------

async def message_states(conn: aiosqlite.Connection, campaign_id: int) -> dict[str, int]:
    """state -> count over the current message of each submitted recipient."""
    async with conn.execute(
            "SELECT m.state, COUNT(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id"
            " WHERE r.campaign_id = ? AND r.state = 'submitted' GROUP BY m.state", (campaign_id,)) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def finished_since(conn: aiosqlite.Connection, campaign_id: int, since: datetime) -> dict[str, int]:
    """state -> count of the campaign's current messages that ended at or after `since`."""
    async with conn.execute(
            "SELECT m.state, COUNT(*) FROM campaign_recipients r JOIN messages m ON m.id = r.message_id"
            " WHERE r.campaign_id = ? AND r.state = 'submitted' AND m.finished_at >= ? GROUP BY m.state",
            (campaign_id, utc_iso(since))) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def exclude_contacts(conn: aiosqlite.Connection, contact_ids: Sequence[int]) -> None:
    """Deleted contacts are not sent what is still pending for them."""
    for start in range(0, len(contact_ids), _CHUNK):
        chunk = list(contact_ids[start:start + _CHUNK])
        await conn.execute(
            "UPDATE campaign_recipients SET state = 'excluded', exclusion = 'deleted' WHERE state = 'pending'"
            f" AND contact_id IN ({','.join('?' * len(chunk))})", chunk)


async def cancelable(conn: aiosqlite.Connection, campaign_id: int) -> list[tuple[int, int]]:
    """(recipient id, message id) of the campaign's messages still waiting in the queue."""
    async with conn.execute(
            "SELECT r.id, m.id FROM campaign_recipients r JOIN messages m ON m.id = r.message_id"
            " WHERE r.campaign_id = ? AND r.state = 'submitted' AND m.state IN ('queued', 'scheduled')",
            (campaign_id,)) as cur:
        return [(r[0], r[1]) for r in await cur.fetchall()]


# Recipients who opted out by SMS within ?2 ("+N hours") after their campaign message was handed over.
_OPTED_OUT_AFTER = (
    " FROM campaign_recipients r JOIN opt_out_events e ON e.number = r.number"
    " WHERE {campaign} = ?1 AND r.state = 'submitted' AND e.action = 'out' AND e.source = 'sms'"
    " AND e.created_at >= r.submitted_at"
    " AND e.created_at <= strftime('%Y-%m-%dT%H:%M:%fZ', r.submitted_at, ?2)")


async def optouts_caused(conn: aiosqlite.Connection, campaign_id: int, hours: int) -> int:
    """How many recipients opted out by SMS within `hours` after their campaign message."""
    async with conn.execute("SELECT COUNT(DISTINCT r.id)" + _OPTED_OUT_AFTER.format(campaign="r.campaign_id"),
                            (campaign_id, f"+{int(hours)} hours")) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def opted_out_after(conn: aiosqlite.Connection, campaign_id: int, hours: int,
                          ids: tuple[int, int]) -> set[int]:
    """Ids of those recipients among ids (first, last] (a report page marks them)."""
    # "+r.campaign_id": walk the page's rowid range, not every recipient of the campaign.
    sql = "SELECT DISTINCT r.id" + _OPTED_OUT_AFTER.format(campaign="+r.campaign_id") + " AND r.id > ?3 AND r.id <= ?4"
    async with conn.execute(sql,
                            (campaign_id, f"+{int(hours)} hours", *ids)) as cur:
        return {r[0] for r in await cur.fetchall()}


async def tag_campaign_ids(db: Database, tag: str) -> list[int]:
    async with db.read() as conn, conn.execute("SELECT id FROM campaigns WHERE tag = ? ORDER BY id", (tag,)) as cur:
        return [r[0] for r in await cur.fetchall()]


async def tags(db: Database) -> list[str]:
    async with db.read() as conn, conn.execute(
            "SELECT DISTINCT tag FROM campaigns WHERE tag <> '' ORDER BY tag") as cur:
        return [r[0] for r in await cur.fetchall()]


# Recipients who sent an SMS back (STOP aside) within ?2 ("+N hours") of their campaign message.
# Driven from the inbound side (indexed by time since the campaign started), each message matched
# to its recipient through UNIQUE(campaign_id, number).
_REPLIED = (
    " FROM inbound_messages i"
    " JOIN campaign_recipients r ON r.campaign_id = ?1 AND r.number = i.sender"
    " WHERE i.received_at >= (SELECT started_at FROM campaigns WHERE id = ?1)"
    " AND r.state = 'submitted' AND i.received_at >= r.submitted_at"
    " AND i.received_at <= strftime('%Y-%m-%dT%H:%M:%fZ', r.submitted_at, ?2)"
    " AND (i.intent IS NULL OR i.intent <> 'stop')")


async def replies(conn: aiosqlite.Connection, campaign_id: int, hours: int) -> int:
    """How many recipients answered within `hours` of their campaign message."""
    async with conn.execute("SELECT COUNT(DISTINCT r.id)" + _REPLIED, (campaign_id, f"+{int(hours)} hours")) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def replied(conn: aiosqlite.Connection, campaign_id: int, hours: int, ids: tuple[int, int]) -> set[int]:
    """Ids of those recipients among ids (first, last] (a report page marks them)."""
    async with conn.execute("SELECT DISTINCT r.id" + _REPLIED + " AND r.id > ?3 AND r.id <= ?4",
                            (campaign_id, f"+{int(hours)} hours", *ids)) as cur:
        return {r[0] for r in await cur.fetchall()}


# --- the per-recipient report ------------------------------------------------------------------

@dataclass(frozen=True)
class RecipientOutcome:
    """One recipient as the report shows it: who, and what became of its current message."""

    id: int
    number: str
    source: str                  # group | contact | number | file
    contact_id: int | None
    last_name: str | None        # from the contact, when it still exists
    first_name: str | None
    state: str                   # pending | submitted | excluded
    exclusion: str | None        # opted_out | invalid | deleted | text
    message_id: int | None
    message_state: str | None
    line: str | None
    segments: int | None
    error: str | None
    submitted_at: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    error_key: str | None = None
    error_params: dict[str, Any] | None = None

    @property
    def reason(self) -> Problem | None:
        """The message's reason as a code (what the console words), when it has one."""
        return Problem(self.error_key, "", self.error_params or {}) if self.error_key and self.error else None


# Each report outcome as a condition on the recipient (r) and its current message (m).
OUTCOME_SQL = {
    "pending": "r.state = 'pending'",
    "excluded_opted_out": "r.state = 'excluded' AND r.exclusion = 'opted_out'",
    "excluded_invalid": "r.state = 'excluded' AND r.exclusion = 'invalid'",
    "excluded_deleted": "r.state = 'excluded' AND r.exclusion = 'deleted'",
    "excluded_text": "r.state = 'excluded' AND r.exclusion = 'text'",
    **{state: f"r.state = 'submitted' AND m.state = '{state}'" for state in (
        "scheduled", "queued", "sending", "sent", "delivered", "failed", "expired", "blocked", "canceled", "unknown")},
}


async def recipient_id_span(conn: aiosqlite.Connection, campaign_id: int) -> tuple[int, int] | None:
    """Lowest and highest recipient id of a campaign (None without recipients)."""
    async with conn.execute("SELECT MIN(id), MAX(id) FROM campaign_recipients WHERE campaign_id = ?",
                            (campaign_id,)) as cur:
        row = await cur.fetchone()
    return (int(row[0]), int(row[1])) if row and row[0] is not None else None


async def recipient_outcomes(conn: aiosqlite.Connection, campaign_id: int, *, after_id: int, upto_id: int,
                             limit: int, outcomes: Sequence[str] = ()) -> list[RecipientOutcome]:
    """Recipients with id in (after_id, upto_id], in id order, optionally only some outcomes.

    A campaign's recipients are added in blocks, so their ids are mostly contiguous: walking the
    primary key through the campaign's id span (`+r.campaign_id` keeps SQLite off the
    (campaign_id, number) index, which would sort the whole campaign for every page) reads
    little more than the page itself."""
    where = ["r.id > ?", "r.id <= ?", "+r.campaign_id = ?"]
    args: list[object] = [after_id, upto_id, campaign_id]
    if outcomes:
        where.append("(" + " OR ".join(f"({OUTCOME_SQL[o]})" for o in outcomes) + ")")
    args.append(limit)
    sql = ("SELECT r.id, r.number, r.source, r.contact_id, c.last_name, c.first_name, r.state, r.exclusion,"
           " r.message_id, m.state, m.sent_line, m.segments, m.error, r.submitted_at, m.sent_at, m.delivered_at,"
           " m.error_key, m.error_params"
           " FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id"
           " LEFT JOIN contacts c ON c.id = r.contact_id"
           f" WHERE {' AND '.join(where)} ORDER BY r.id LIMIT ?")
    async with conn.execute(sql, args) as cur:
        rows = await cur.fetchall()
    return [RecipientOutcome(id=r[0], number=r[1], source=r[2], contact_id=r[3], last_name=r[4], first_name=r[5],
                             state=r[6], exclusion=r[7], message_id=r[8], message_state=r[9], line=r[10],
                             segments=r[11], error=r[12], submitted_at=parse_iso(r[13]), sent_at=parse_iso(r[14]),
                             delivered_at=parse_iso(r[15]), error_key=r[16],
                             error_params=json.loads(r[17]) if r[17] else None)
            for r in rows]


async def exclude_for_text(conn: aiosqlite.Connection, recipient_ids: Sequence[int]) -> None:
    """Leave out pending recipients whose own text has a problem the launcher chose to exclude."""
    await conn.executemany(
        "UPDATE campaign_recipients SET state = 'excluded', exclusion = 'text' WHERE id = ? AND state = 'pending'",
        [(rid,) for rid in recipient_ids])


async def set_text_checks(conn: aiosqlite.Connection, campaign_id: int, decision: dict[str, Any],
                          now: datetime) -> bool:
    """Record the launcher's decision on texts with a problem inside the draft's audience; False
    when the campaign is not a draft."""
    cur = await conn.execute(
        "UPDATE campaigns SET audience = json_set(audience, '$.text_checks', json(?)), updated_at = ?"
        " WHERE id = ? AND state = 'draft'",
        (json.dumps(decision, ensure_ascii=False), utc_iso(now), campaign_id))
    return cur.rowcount == 1

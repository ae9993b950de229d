"""Campaign lifecycle: create, schedule, launch, pause, resume, cancel, refresh audience.

States: draft → scheduled → running ⇄ paused → completed, and canceled from any state but the
final ones. Every transition is a conditional UPDATE inside a write transaction, so two requests
racing (or the scheduler and a user) cannot both win. Recipients are materialised at launch in the
same transaction that moves the campaign to running; UNIQUE(campaign, number) keeps everyone once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo
from typing import Any, Protocol, TypedDict

import aiosqlite

from gatewayd.campaigns import audience as aud
from gatewayd.campaigns.checks import TextDecision
from gatewayd.campaigns.rendering import load_texts
from gatewayd.campaigns import timing, variables
from gatewayd.campaigns.templates import BUILTIN_VARIABLES, TemplateSyntaxError, compile_template, unknown_variables
from gatewayd.clock import Clock
from gatewayd.config import Settings
from gatewayd.contacts.analysis import fold
from gatewayd.contacts.importer import ImportService
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.problems import Problem
from gatewayd.store import campaigns as store
from gatewayd.store import contacts as contact_store
from gatewayd.store import imports as import_store
from gatewayd.store import messages as message_store
from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.store import optouts
from gatewayd.store import templates as template_store
from gatewayd.store.campaigns import Campaign
from gatewayd.outbound.compose import Composer, LineDirectory
from gatewayd.store.db import Database

log = logging.getLogger(__name__)
# A time this close behind the clock is "now" (a form filled in for the current minute).
PAST_TOLERANCE = timedelta(minutes=1)

LANGUAGES = ("default", "fr", "en")


class CampaignScheduler(Protocol):
    """What the service needs from gatewayd.ops.scheduler.Scheduler."""

    def run_at(self, job_id: str, when: datetime, func: Callable[..., Any], *args: Any) -> None: ...

    def cancel(self, job_id: str) -> None: ...


class _DraftColumns(TypedDict):
    """What creating a draft and editing one both write (store.insert / store.update_draft)."""

    name: str
    tag: str
    category: str
    line: str | None
    audience: dict[str, Any]
    stop_mention: str
    templates: dict[str, int]
    now: datetime


@dataclass(frozen=True)
class NewCampaign:
    name: str
    templates: dict[str, int]
    audience: aud.AudienceSpec
    tag: str = ""
    category: str = "marketing"
    line: str | None = None
    created_by: str | None = None
    timing: dict[str, Any] | None = None  # a reminder per recipient, or a recurring campaign (timing.py)
    transliterate: bool | None = None  # GSM-7 look-alikes for every text; None: each template's switch


class CampaignService:
    """The one entry point for campaigns (API and console call it; the runner sends)."""

    def __init__(self, db: Database, settings: Settings, clock: Clock, imports: ImportService, *,
                 lines: LineDirectory | None = None, scheduler: CampaignScheduler | None = None,
                 composer: Composer | None = None, on_release: Callable[[], None] | None = None) -> None:
        """`lines`: the pool's view of the lines (default: the configured ones, for tests without a
        pool); `scheduler`: launches scheduled campaigns (None: only launch_due() does);
        `on_release`: the dispatcher's wake-up, called when held messages may go (a resume)."""
        from gatewayd.modem.pool import FixedLines

        self.db = db
        self.settings = settings
        self.clock = clock
        self.imports = imports
        self.lines: LineDirectory = lines if lines is not None else FixedLines.configured(settings)
        self.scheduler = scheduler
        # Outbound's composition: previews show what it will send (mention, look-alikes).
        self.composer = composer if composer is not None else Composer(settings, self.lines)
        # Set when a campaign starts, resumes or changes: the runner (CampaignRunner) waits on it.
        self.wakeup = asyncio.Event()
        self.on_release = on_release
        # campaign id -> (database data_version when its preview began, that preview's text checks):
        # launching right after a preview does not walk the whole audience a second time when
        # nothing was written in between (the same data gives the same answer).
        self.text_checks_seen: dict[int, tuple[int, dict[str, Any]]] = {}

    def use_settings(self, settings: Settings) -> None:
        """Settings changed in the console (quiet hours show in the next preview)."""
        self.settings = settings

    # --- reading ----------------------------------------------------------------------------------

    async def get(self, campaign_id: int) -> Campaign:
        campaign = await store.get(self.db, campaign_id)
        if campaign is None:
            raise NotFound(code="campaign.not_found", id=campaign_id)
        return campaign

    async def known_variables(self, conn: aiosqlite.Connection, spec: aud.AudienceSpec) -> list[str]:
        """Variables a recipient of this audience may have: contact fields, the file's columns, and the
        variables the campaign maps to one of those or fills with a default."""
        names = [s.key for s in await self.sources(conn, spec)]
        names += [v for v, entry in spec.variables.items() if entry.get("source") or entry.get("default")]
        return names

    async def sources(self, conn: aiosqlite.Connection, spec: aud.AudienceSpec) -> list[variables.Source]:
        """The values recipients of this audience have, with the names the user knows them by."""
        out = [variables.Source(k, k) for k in BUILTIN_VARIABLES]
        out += [variables.Source(f, f) for f in await contact_store.field_names(conn)]
        if spec.file_import_id is not None:
            row = await import_store.get_in(conn, spec.file_import_id)
            if row is not None and row.analysis is not None:
                headers = row.analysis.get("headers", [])
                for i, target in enumerate(row.analysis["mapping"]):
                    key = target[6:] if target.startswith("field:") else target
                    if key in aud.file_variables(row.analysis["mapping"]):
                        label = headers[i] if i < len(headers) and headers[i] else key
                        out = [s for s in out if s.key.lower() != key.lower()] + [variables.Source(key, label)]
        return out

    async def template_variables(self, conn: aiosqlite.Connection, templates: dict[str, int]) -> list[str]:
        found: list[str] = []
        for tid in templates.values():
            template = await template_store.get_in(conn, tid)
            if template is not None:
                found += compile_template(template.text).variables
        return list(dict.fromkeys(found))

    async def variables_step(self, campaign_id: int) -> dict[str, Any]:
        """The mapping step: the templates' variables, the recipients' columns, a proposal and the
        mapping kept on the campaign."""
        campaign = await self.get(campaign_id)
        spec = aud.AudienceSpec.from_json(campaign.audience)
        async with self.db.read() as conn:
            names = await self.template_variables(conn, campaign.templates)
            sources = await self.sources(conn, spec)
            unknown = await self.unknown_variables(conn, campaign)
        return {"campaign_id": campaign_id, "variables": names,
                "sources": [{"key": s.key, "label": s.label} for s in sources],
                "proposed": variables.propose(names, sources),
                "mapping": {k: dict(v) for k, v in spec.variables.items()}, "unknown_variables": unknown}

    async def set_variables(self, campaign_id: int, mapping: dict[str, dict[str, str | None]]) -> dict[str, Any]:
        """Keep the variables ↔ columns mapping on a campaign not launched yet."""
        async with self.db.write() as conn:
            campaign = await store.get_in(conn, campaign_id)
            if campaign is None:
                raise NotFound(code="campaign.not_found", id=campaign_id)
            spec = aud.AudienceSpec.from_json(campaign.audience)
            await self._check_variables(conn, campaign.templates, spec, mapping)
            audience = {**campaign.audience, "variables": mapping}
            if not await store.set_audience(conn, campaign_id, audience, self.clock.now(), ("draft", "scheduled")):
                raise Conflict(code="campaign.variables_frozen", id=campaign_id, state=campaign.state)
        return await self.variables_step(campaign_id)

    async def _check_variables(self, conn: aiosqlite.Connection, templates: dict[str, int], spec: aud.AudienceSpec,
                               mapping: Any) -> None:
        names = await self.template_variables(conn, templates)
        keys = [s.key for s in await self.sources(conn, spec)]
        problems = variables.check(mapping, names, keys)
        if problems:
            raise InvalidInput(problems=problems[:1])

    async def unknown_variables(self, conn: aiosqlite.Connection, campaign: Campaign) -> dict[str, list[str]]:
        """Per language, the template variables no recipient of this campaign can have."""
        known = await self.known_variables(conn, aud.AudienceSpec.from_json(campaign.audience))
        texts = await load_texts(conn, campaign)
        return {lang: list(unknown_variables(t, known)) for lang, t in texts.by_language.items()
                if unknown_variables(t, known)}

    # --- writing ----------------------------------------------------------------------------------

    def _line_ok(self, line: str | None) -> None:
        names = self.lines.names()
        if line is not None and line not in names:
            raise InvalidInput("line", code="line.unknown", line=line, known=", ".join(names) or "none")

    async def create(self, new: NewCampaign) -> tuple[Campaign, dict[str, list[str]]]:
        """A draft campaign and the unknown variables of its templates (reported, not refused)."""
        return await self._save(None, new)

    async def update(self, campaign_id: int, new: NewCampaign) -> tuple[Campaign, dict[str, list[str]]]:
        """Change a draft (everything but its author); 409 once it is scheduled or launched."""
        return await self._save(campaign_id, new)

    async def _save(self, campaign_id: int | None, new: NewCampaign) -> tuple[Campaign, dict[str, list[str]]]:
        if not new.name.strip():
            raise InvalidInput("name", code="campaign.name_required")
        if new.category not in ("marketing", "transactional"):
            raise InvalidInput("category", code="category.choice")
        if "default" not in new.templates:
            raise InvalidInput("templates.default", code="campaign.default_template_required")
        for lang in new.templates:
            if lang not in LANGUAGES:
                raise InvalidInput(f"templates.{lang}", code="campaign.languages")
        self._line_ok(new.line)
        # Shown with the campaign; each message gets the mention of its reader's language when composed.
        mention = self.settings.campaigns.mention(self.settings.site.language) if new.category == "marketing" else ""
        async with self.db.write() as conn:
            for lang, tid in new.templates.items():
                if await template_store.get_in(conn, tid) is None:
                    raise InvalidInput(f"templates.{lang}", code="template.not_found", id=tid)
            await aud.validate(conn, new.audience)
            await self._check_cap(conn, new.audience)
            await self._check_variables(conn, new.templates, new.audience, new.audience.variables)
            rule = await self._check_timing(conn, new.timing, new.audience)
            # The campaign's own switch rides with its other choices in the audience JSON (as its
            # variables and text-check decision do): no column of its own.
            audience = {**new.audience.to_json(),
                        **({"transliterate": new.transliterate} if new.transliterate is not None else {})}
            fields: _DraftColumns = {"name": new.name.strip()[:200], "tag": new.tag.strip()[:64], "category": new.category,
                                     "line": new.line, "audience": audience, "stop_mention": mention,
                                     "templates": new.templates, "now": self.clock.now()}
            if campaign_id is None:
                campaign_id = await store.insert(conn, created_by=new.created_by,
                                                 timing=rule.to_json() if rule else None, **fields)
            elif not await store.update_draft(conn, campaign_id, **fields):
                await self._state_conflict(conn, campaign_id, "changed")
            campaign = await store.get_in(conn, campaign_id)
            assert campaign is not None
            unknown = await self.unknown_variables(conn, campaign)
        return campaign, unknown

    async def _check_timing(self, conn: aiosqlite.Connection, data: dict[str, Any] | None,
                            spec: aud.AudienceSpec) -> timing.Timing | None:
        try:
            rule = timing.parse(data)
        except timing.TimingProblem as exc:
            raise InvalidInput(problems=[exc.problem.at(exc.field)]) from None
        if isinstance(rule, timing.Reminder):
            wanted = fold(rule.column)
            found = [s for s in await self.sources(conn, spec) if wanted in (fold(s.key), fold(s.label))]
            if not found:
                raise InvalidInput("timing.column", code="campaign.no_source", source=rule.column)
            rule = dataclasses.replace(rule, column=found[0].key)  # the header as the user wrote it, or the key
        return rule

    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.site.timezone)

    async def next_sends(self, campaign: Campaign, count: int = 3) -> list[datetime]:
        """When the campaign sends next: its reminders' earliest due times, a recurring campaign's next
        occurrences, or its scheduled time."""
        rule = timing.parse(campaign.timing) if campaign.timing else None
        if isinstance(rule, timing.Recurring):
            if campaign.state != "scheduled" or campaign.scheduled_at is None:
                return []
            return [campaign.scheduled_at, *timing.next_occurrences(rule, self._tz(), campaign.scheduled_at,
                                                                      count - 1)]
        if isinstance(rule, timing.Reminder) and campaign.state in ("running", "paused"):
            async with self.db.read() as conn:
                return await store.next_send_times(conn, campaign.id, count)
        if campaign.state == "scheduled" and campaign.scheduled_at is not None:
            return [campaign.scheduled_at]
        return []

    async def _check_cap(self, conn: aiosqlite.Connection, spec: aud.AudienceSpec) -> None:
        problem = aud.cap_problem(await aud.size_bound(conn, spec), self.settings.campaigns.max_recipients)
        if problem:
            raise InvalidInput(problems=[problem])

    async def delete(self, campaign_id: int) -> None:
        async with self.db.write() as conn:
            if not await store.delete(conn, campaign_id):
                await self._state_conflict(conn, campaign_id, "deleted")

    async def _state_conflict(self, conn: aiosqlite.Connection, campaign_id: int, action: str) -> None:
        campaign = await store.get_in(conn, campaign_id)
        if campaign is None:
            raise NotFound(code="campaign.not_found", id=campaign_id)
        raise Conflict(code=f"campaign.cannot_{action}", id=campaign_id, state=campaign.state)

    async def schedule(self, campaign_id: int, at: datetime | None = None) -> Campaign:
        """Send now (at None) or at `at`, which must be to come (a time already past is refused
        rather than sent at once: it is a typing mistake); the job survives restarts."""
        now = self.clock.now()
        if at is not None and at < now - PAST_TOLERANCE:
            raise InvalidInput("send_at", code="send_at.past")
        when = at if at is not None and at > now else now
        async with self.db.write() as conn:
            campaign = await store.get_in(conn, campaign_id)
            if campaign is not None and campaign.state == "draft":  # groups may have grown since the draft
                await self._check_cap(conn, aud.AudienceSpec.from_json(campaign.audience))
                # A variable nothing fills is outbound's composition to refuse (the runner pauses the
                # campaign naming it and the recipient); the preview and the variables step show it first.
            rule = timing.parse(campaign.timing) if campaign is not None and campaign.timing else None
        # Every recipient's own text, checked before anything is queued (reminders choose their
        # recipients by date at launch: they are left to the runner's composition).
        if campaign is not None and campaign.state == "draft" and rule is None:
            await self._texts_decided(campaign_id)
        async with self.db.write() as conn:
            if isinstance(rule, timing.Recurring):  # the first occurrence after `at` (or now)
                when = timing.next_occurrences(rule, self._tz(), when - timedelta(seconds=1), 1)[0]
            if not await store.transition(conn, campaign_id, ("draft",), "scheduled", now, scheduled_at=when):
                await self._state_conflict(conn, campaign_id, "scheduled")
        if when <= now:
            return await self.launch(campaign_id)
        if self.scheduler is not None:
            self.scheduler.run_at(f"campaign:{campaign_id}", when, self.launch_quietly, campaign_id)
        return await self.get(campaign_id)

    async def _texts_decided(self, campaign_id: int) -> None:
        """409 while some recipients' own text has a problem nobody decided about (the whole
        audience is checked, as the preview shows it)."""
        from gatewayd.campaigns.preview import preview

        seen = self.text_checks_seen.pop(campaign_id, None)
        if seen is not None and seen[0] == await self.db.data_version():
            checks = seen[1]
        else:
            checks = (await preview(self, campaign_id))["text_checks"]
        if checks["blocking"]:
            kinds = checks["by_kind"]
            # Name what to fix: the empty variables and the first recipient concerned.
            variables = ", ".join("{%s}" % name for name in checks["empty_variables"]) or "-"
            first = checks["listed"][0]["number"] if checks["listed"] else "-"
            raise Conflict(code="campaign.text_problems", field="text_checks", id=campaign_id,
                           count=checks["recipients"], empty=kinds["empty_variable"], ucs2=kinds["ucs2"],
                           too_long=kinds["too_long"], max=self.settings.sending.max_segments,
                           variables=variables, first=first)

    async def decide_texts(self, campaign_id: int, decision: TextDecision) -> Campaign:
        """Record what to do with recipients whose text has a problem: default values for the
        variables, and whether to leave out those whose text still has one (drafts only)."""
        for name, value in decision.defaults.items():
            if not name.strip() or len(name) > 64 or len(value) > 500:
                raise InvalidInput(f"defaults.{name[:64]}", code="campaign.bad_default")
        async with self.db.write() as conn:
            if not await store.set_text_checks(conn, campaign_id, decision.to_json(), self.clock.now()):
                await self._state_conflict(conn, campaign_id, "changed")
        return await self.get(campaign_id)

    async def sample_text(self, campaign_id: int) -> tuple[str, str | None, str | None]:
        """(text, language, line) of the campaign's first recipient, personalised with the chosen
        defaults but before outbound's composition: what "send a test to myself" sends."""
        from gatewayd.campaigns.checks import with_defaults
        from gatewayd.campaigns.templates import render

        campaign = await self.get(campaign_id)
        decision = TextDecision.of(campaign.audience)
        spec = aud.AudienceSpec.from_json(campaign.audience)
        async with self.db.read() as conn:
            texts = await load_texts(conn, campaign)
            async for batch in aud.drafts(conn, spec, region=self.settings.sending.default_region,
                                          imports=self.imports):
                for d in batch:
                    if d.invalid is None:
                        compiled = texts.by_language[texts.template_for(d.language)]
                        return render(compiled, with_defaults(d.values, decision.defaults)).text, d.language, texts.line
        raise Conflict(code="campaign.no_sample", id=campaign_id)

    async def launch_quietly(self, campaign_id: int) -> None:
        """Scheduler entry point: launch (a recurring campaign: its occurrence), logging instead of raising
        (nobody waits for the answer)."""
        try:
            campaign = await self.get(campaign_id)
            if campaign.timing and campaign.timing.get("kind") == "recurring":
                await self.fire_occurrence(campaign_id)
            else:
                await self.launch(campaign_id)
        except Conflict as exc:
            log.info("campaign %d not launched: %s", campaign_id, exc.detail)
        except Exception:
            log.exception("campaign %d could not be launched", campaign_id)

    async def launch_due(self) -> list[int]:
        """Launch every scheduled campaign whose time has come (start-up and each runner tick)."""
        now = self.clock.now()
        launched = []
        for campaign_id, when in await store.ids_in_state(self.db, "scheduled"):
            if when is None or when <= now:
                await self.launch_quietly(campaign_id)
                launched.append(campaign_id)
        return launched

    async def launch(self, campaign_id: int) -> Campaign:
        """scheduled → running, recipients materialised in the same transaction."""
        now = self.clock.now()
        async with self.db.write() as conn:
            if not await store.transition(conn, campaign_id, ("scheduled",), "running", now, started_at=now):
                await self._state_conflict(conn, campaign_id, "launched")
            campaign = await store.get_in(conn, campaign_id)
            assert campaign is not None
            added, duplicates = await self._materialise(conn, campaign, now)
            await store.add_duplicates(conn, campaign_id, duplicates)
        if self.scheduler is not None:
            self.scheduler.cancel(f"campaign:{campaign_id}")
        log.info("campaign %d launched: %d recipients (%d duplicates left out)", campaign_id, added, duplicates)
        self.wakeup.set()
        return await self.get(campaign_id)

    async def _materialise(self, conn: aiosqlite.Connection, campaign: Campaign, now: datetime) -> tuple[int, int]:
        """Insert the audience's recipients not already in the campaign; (added, numbers met again).

        Groups and chosen contacts go in with INSERT … SELECT (200,000 in about a second); typed
        numbers and file rows are checked in Python. UNIQUE(campaign, number) drops repeats, so
        what was offered but not inserted is a duplicate (at launch; a refresh meets old ones)."""
        added = offered = 0
        spec = aud.AudienceSpec.from_json(campaign.audience)
        check = campaign.category == "marketing" or self.settings.optout.scope == "all"
        rule = timing.parse(campaign.timing) if campaign.timing else None
        if isinstance(rule, timing.Reminder):
            return await self._materialise_reminders(conn, campaign, spec, rule, check, now)
        for gid in spec.group_ids:
            candidates, inserted = await store.add_group_recipients(conn, campaign.id, gid, exclude_opted_out=check,
                                                                    now=now)
            offered += candidates
            added += inserted
        candidates, inserted = await store.add_contact_recipients(conn, campaign.id, list(spec.contact_ids),
                                                                  exclude_opted_out=check, now=now)
        offered += candidates
        added += inserted
        async for batch in aud.drafts(conn, spec, region=self.settings.sending.default_region,
                                      imports=self.imports, contacts=False):
            valid = [d.number for d in batch if d.invalid is None]
            blocked = await optouts.opted_out_among(conn, valid) if check else set()
            rows = [d.row("excluded", "invalid") if d.invalid is not None else
                    d.row("excluded", "opted_out") if d.number in blocked else d.row("pending", None)
                    for d in batch]
            offered += len(rows)
            added += await store.add_recipients(conn, campaign.id, rows, now)
        return added, offered - added

    async def _materialise_reminders(self, conn: aiosqlite.Connection, campaign: Campaign, spec: aud.AudienceSpec,
                                     rule: timing.Reminder, check: bool, now: datetime) -> tuple[int, int]:
        """Every recipient with its own send time from its date; skipped ones (no date, past, too late
        once quiet hours apply) are counted and listed in the campaign's timing report."""
        quiet = QuietHours.from_settings(self.settings.quiet_hours, self.settings.site.timezone)
        tz = self._tz()
        report: dict[str, Any] = dict(campaign.timing_report or {"skipped": {}, "lines": []})
        added = offered = 0
        async for batch in aud.drafts(conn, spec, region=self.settings.sending.default_region, imports=self.imports):
            valid = [d.number for d in batch if d.invalid is None]
            blocked = await optouts.opted_out_among(conn, valid) if check else set()
            rows: list[tuple[Any, ...]] = []
            for d in batch:
                if d.invalid is not None:
                    rows.append(d.row("excluded", "invalid"))
                    continue
                if d.number in blocked:
                    rows.append(d.row("excluded", "opted_out"))
                    continue
                planned = timing.plan_reminder(rule, d.values, tz=tz, quiet=quiet, now=now)
                if planned.send_at is None:
                    reason = planned.skipped or "no_date"
                    report["skipped"][reason] = report["skipped"].get(reason, 0) + 1
                    if len(report["lines"]) < timing.SKIP_LISTED:
                        report["lines"].append({"number": d.number, "date": planned.date, "reason": reason})
                    continue
                rows.append((*d.row("pending", None), planned.send_at))
            offered += len(rows)
            added += await store.add_recipients(conn, campaign.id, rows, now)
        await store.set_timing_report(conn, campaign.id, report)
        return added, offered - added

    async def refresh(self, campaign_id: int) -> dict[str, Any]:
        """Add audience members who joined since launch as recipients to send (nobody twice)."""
        now = self.clock.now()
        async with self.db.write() as conn:
            campaign = await store.get_in(conn, campaign_id)
            if campaign is None:
                raise NotFound(code="campaign.not_found", id=campaign_id)
            if campaign.state not in ("running", "paused", "completed"):
                raise Conflict(code="campaign.refresh_not_launched", id=campaign_id, state=campaign.state)
            added, _ = await self._materialise(conn, campaign, now)
            if added and campaign.state == "completed":
                await store.transition(conn, campaign_id, ("completed",), "running", now, finished_at=None)
        self.wakeup.set()
        return {"added": added, "campaign": await self.get(campaign_id)}

    async def pause(self, campaign_id: int, reason: str | None = None, *, problem: Problem | None = None) -> Campaign:
        """Pause a running campaign, with a person's own `reason`, or a coded `problem` (an automatic
        pause: its English is the reason the API shows, its code what the console words)."""
        now = self.clock.now()
        stored = store.encode_pause(problem) if problem is not None else reason
        async with self.db.write() as conn:
            if not await store.transition(conn, campaign_id, ("running",), "paused", now, paused_at=now,
                                          pause_reason=stored):
                await self._state_conflict(conn, campaign_id, "paused")
            # Same transaction: the queued messages are held, not canceled and re-created on resume.
            held = await message_store.hold_campaign(conn, campaign_id, now)
        said = problem.english() if problem is not None else reason
        log.info("campaign %d paused (%d queued messages held)%s", campaign_id, held, f": {said}" if said else "")
        return await self.get(campaign_id)

    async def resume(self, campaign_id: int) -> Campaign:
        now = self.clock.now()
        async with self.db.write() as conn:
            if not await store.transition(conn, campaign_id, ("paused",), "running", now, paused_at=None,
                                          pause_reason=None, resumed_at=now):
                await self._state_conflict(conn, campaign_id, "resumed")
            await message_store.release_campaign(conn, campaign_id, now)
        self.wakeup.set()
        if self.on_release is not None:
            self.on_release()
        return await self.get(campaign_id)

    async def cancel(self, campaign_id: int) -> Campaign:
        now = self.clock.now()
        async with self.db.write() as conn:
            if not await store.transition(conn, campaign_id, ("draft", "scheduled", "running", "paused"),
                                          "canceled", now, finished_at=now):
                await self._state_conflict(conn, campaign_id, "canceled")
        if self.scheduler is not None:
            self.scheduler.cancel(f"campaign:{campaign_id}")
        await self._cancel_outstanding(campaign_id, now)
        return await self.get(campaign_id)

    async def _cancel_outstanding(self, campaign_id: int, now: datetime) -> int:
        """Cancel the campaign's queued messages and put their recipients back to pending.

        One transaction for all of them (one fsync, not one per message), and each recipient goes
        back with its message's cancellation, so a crash cannot leave one without the other. A
        message the dispatcher claimed meanwhile is not canceled and stays with its recipient."""
        async with self.db.write() as conn:
            back = [rid for rid, mid in await store.cancelable(conn, campaign_id)
                    if await message_store.cancel(conn, mid, now)]
            await store.back_to_pending(conn, back)
        return len(back)

    async def fire_occurrence(self, parent_id: int) -> int | None:
        """A recurring campaign's occurrence: a campaign of its own (same templates, audience, variables)
        created and moved to scheduled in the transaction that moves the parent to its next occurrence,
        so a crash can neither lose nor repeat one; then it is launched. Returns its id."""
        now = self.clock.now()
        async with self.db.write() as conn:
            parent = await store.get_in(conn, parent_id)
            rule = timing.parse(parent.timing) if parent is not None and parent.timing else None
            if parent is None or parent.state != "scheduled" or not isinstance(rule, timing.Recurring) or \
                    parent.scheduled_at is None or parent.scheduled_at > now:
                return None
            following = timing.next_occurrences(rule, self._tz(), max(now, parent.scheduled_at), 1)[0]
            local = parent.scheduled_at.astimezone(self._tz())
            child = await store.insert(
                conn, name=f"{parent.name} — {local:%Y-%m-%d %H:%M}"[:200], tag=parent.tag, category=parent.category,
                line=parent.line, audience=parent.audience, stop_mention=parent.stop_mention,
                templates=parent.templates, created_by=parent.created_by, now=now, parent_id=parent_id)
            await store.transition(conn, child, ("draft",), "scheduled", now, scheduled_at=now)
            await store.set_scheduled_at(conn, parent_id, following, now)
        if self.scheduler is not None:
            self.scheduler.run_at(f"campaign:{parent_id}", following, self.launch_quietly, parent_id)
        log.info("recurring campaign %d: occurrence %d launched, next at %s", parent_id, child, following)
        await self.launch_quietly(child)
        return child

    async def restore_schedule(self) -> int:
        """At start: future scheduled campaigns get their job back; past ones launch now."""
        count = 0
        now = self.clock.now()
        for campaign_id, when in await store.ids_in_state(self.db, "scheduled"):
            if when is not None and when > now and self.scheduler is not None:
                self.scheduler.run_at(f"campaign:{campaign_id}", when, self.launch_quietly, campaign_id)
            else:
                await self.launch_quietly(campaign_id)
            count += 1
        return count


def check_template_text(text: str, known: Sequence[str]) -> list[str]:
    """Unknown variables of a template text; InvalidInput when it does not parse."""
    try:
        compiled = compile_template(text)
    except TemplateSyntaxError as exc:
        raise InvalidInput("text", problems=[exc.problem("text")]) from None
    return list(unknown_variables(compiled, known))

"""Feeds running campaigns into the outbound queue, a window at a time, and watches their failure rate.

A recipient is rendered and handed to OutboundService.enqueue (submit in bulk) inside the same write transaction
that marks it submitted with its message id, so a crash leaves it either pending (sent later) or
submitted (already in outbound's ledger) — never both, never twice. Everything lives in the
database: after a restart the runner simply continues with the pending recipients of running
campaigns. Pause cancels the campaign's messages still queued and puts their recipients back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from gatewayd.campaigns.rendering import CampaignTexts, load_texts
from gatewayd.campaigns.service import CampaignService
from gatewayd.errors import ProblemError
from gatewayd.problems import Problem
from gatewayd.campaigns.checks import TextCheck, TextDecision, with_defaults
from gatewayd.outbound.compose import Composed, Draft, Recipient
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import campaigns as store
from gatewayd.tasks import stop_tasks, wait_event

if TYPE_CHECKING:
    import aiosqlite

log = logging.getLogger(__name__)

OUTSTANDING = ("scheduled", "queued", "sending")
SUBMIT_BATCH = 10000
FINISHED = ("sent", "delivered", "failed", "expired", "unknown")


class Outbound(Protocol):
    """The part of gatewayd.outbound.service.OutboundService the runner uses."""

    async def enqueue(self, messages: Sequence[Any], *, conn: aiosqlite.Connection) -> Sequence[int]: ...

    async def compose(self, draft: Draft, *, conn: aiosqlite.Connection | None = None) -> Composed: ...


def failure_rate(states: dict[str, int]) -> tuple[int, float]:
    """(finished messages, failed share of them); blocked and canceled are not failures of the network."""
    finished = sum(states.get(s, 0) for s in FINISHED)
    return finished, (states.get("failed", 0) / finished if finished else 0.0)


class CampaignRunner:
    """One background task for every campaign (a Raspberry Pi has two modems, not two hundred)."""

    def __init__(self, service: CampaignService, outbound: Outbound) -> None:
        self.service = service
        self.outbound = outbound
        self.settings = service.settings.campaigns
        self._wake = service.wakeup  # the service sets it when a campaign starts, resumes or changes
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="campaign-runner")

    async def stop(self) -> None:
        await stop_tasks([self._task], what="campaign runner")
        self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign runner pass failed; retrying at the next tick")
            await wait_event(self._wake, self.settings.tick_seconds)
            self._wake.clear()

    async def tick(self) -> None:
        """One pass: top up and check every running campaign. (Launching at a date is the
        scheduler's job, never re-checked here.)"""
        for campaign_id, _ in await store.ids_in_state(self.service.db, "running"):
            await self.step(campaign_id)

    async def step(self, campaign_id: int) -> int:
        """Hand up to the free window of pending recipients to outbound; returns how many."""
        db = self.service.db
        async with db.read() as conn:
            campaign = await store.get_in(conn, campaign_id)
            if campaign is None:
                return 0
            states = await store.message_states(conn, campaign_id)
            # Judged on what ended since the last resume: a person who resumes gets a fresh count.
            since = campaign.resumed_at or campaign.started_at
            recent = await store.finished_since(conn, campaign_id, since) if since else states
        finished, rate = failure_rate(recent)
        if finished >= self.settings.failure_min_finished and rate > self.settings.failure_threshold:
            reason = Problem("campaign.auto_paused", "", {"rate": f"{rate:.0%}", "finished": finished,
                                                          "threshold": f"{self.settings.failure_threshold:.0%}"})
            try:
                await self.service.pause(campaign_id, problem=reason)
                log.warning("campaign %d %s", campaign_id, reason.english())
            except ProblemError:
                pass
            return 0
        room = self.settings.window - sum(states.get(s, 0) for s in OUTSTANDING)
        handed = 0
        while room > 0:
            # Bounded transactions: memory stays flat and other writers get the lock in between.
            try:
                n = await self.submit_batch(campaign_id, min(room, SUBMIT_BATCH))
            except (ProblemError, LookupError) as exc:
                # A text outbound refuses (too long, a deleted template…): stop and say why,
                # rather than failing the same batch at every tick.
                detail = exc.detail if isinstance(exc, ProblemError) else str(exc)
                log.warning("campaign %d cannot hand messages to outbound: %s", campaign_id, detail)
                # The refusal's own code when it has one, so the console words it too.
                refusal = exc.problems[0].as_data() if isinstance(exc, ProblemError) and exc.problems else detail
                try:
                    await self.service.pause(campaign_id, problem=Problem("campaign.auto_paused_because", "",
                                                                          {"reason": refusal}))
                except ProblemError:
                    pass
                break
            if n == 0:
                break
            handed += n
            room -= n
        return handed

    async def submit_batch(self, campaign_id: int, limit: int) -> int:
        """Render and submit up to `limit` pending recipients in one transaction; completes when done."""
        now = self.service.clock.now()
        async with self.service.db.write() as conn:
            campaign = await store.get_in(conn, campaign_id)
            if campaign is None or campaign.state != "running":
                return 0  # paused or canceled meanwhile
            # A reminder campaign hands each recipient over when its own send time has come.
            reminders = campaign.timing is not None and campaign.timing.get("kind") == "reminder"
            batch = await store.pending(conn, campaign_id, limit, due_by=now if reminders else None)
            if not batch:
                if reminders and await store.pending_count(conn, campaign_id):
                    return 0  # later reminders wait in the campaign
                states = await store.message_states(conn, campaign_id)
                if not any(states.get(s, 0) for s in OUTSTANDING):
                    await store.transition(conn, campaign_id, ("running",), "completed", now, finished_at=now)
                    log.info("campaign %d completed", campaign_id)
                return 0
            texts = await self._texts(conn, campaign)
            category, line = Category(campaign.category), texts.line
            # The launcher's decision on texts with a problem: defaults fill empty variables, and
            # with "exclude" a recipient whose text still has one is left out (checked here too,
            # since an audience refreshed after the launch was not in the preview).
            decision = TextDecision.of(campaign.audience)
            if decision.exclude:
                check = TextCheck(texts, self.service.composer, category=campaign.category,
                                  max_segments=self.service.settings.sending.max_segments, decision=decision)
                flagged = [r.id for r in batch if check.check(r.values, r.language).problems]
                if flagged:
                    await store.exclude_for_text(conn, flagged)
                    batch = [r for r in batch if r.id not in set(flagged)]
                    if not batch:
                        return len(flagged)
            # One draft per template (a campaign may have one per language); outbound's composition
            # personalises each recipient from its values (contact and file row, joined at launch)
            # and adds the STOP mention in its language. Bulk priority 10: single messages go first.
            groups: dict[str, list[store.PendingRecipient]] = {}
            for r in batch:
                groups.setdefault(texts.template_for(r.language), []).append(r)
            composed: dict[int, NewMessage] = {}
            for language, members in groups.items():
                defaults = decision.defaults
                draft = Draft(recipients=[Recipient(r.number, with_defaults(texts.values_of(r.values), defaults)
                                                    if defaults else texts.values_of(r.values), r.language,
                                                    lookup=False) for r in members],
                              text=texts.sources[language], personalise=True, category=category, line=line,
                              defaults=texts.defaults[language],
                              transliterate=texts.transliterate[language],
                              priority=10, campaign_id=campaign_id, campaign_recipient_ids=[r.id for r in members],
                              source="campaign")
                for r, m in zip(members, (await self.outbound.compose(draft, conn=conn)).messages, strict=True):
                    composed[r.id] = m
            messages = [composed[r.id] for r in batch]
            ids = await self.outbound.enqueue(messages, conn=conn)
            del messages  # the texts are in the ledger now; keep the working set to one batch
            await store.mark_submitted(conn, list(zip((r.id for r in batch), ids, strict=True)), now)
        return len(batch)

    async def _texts(self, conn: aiosqlite.Connection, campaign: store.Campaign) -> CampaignTexts:
        return await load_texts(conn, campaign)


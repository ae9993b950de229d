"""A campaign's per-recipient report: what became of each recipient, in pages or as one CSV.

The figures of campaigns/stats.py say how many; this says who. Each recipient gets one outcome
(its exclusion, `pending`, or its current message's state), whether it answered and whether it
texted STOP within the attribution window, the same rules the figures count with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from gatewayd.errors import InvalidInput
from gatewayd.store import campaigns as store
from gatewayd.store.campaigns import OUTCOME_SQL, RecipientOutcome
from gatewayd.store.db import Database

OUTCOMES = tuple(OUTCOME_SQL)
# Recipients someone should look at: the SMS did not reach them, and not by anyone's choice.
NOT_REACHED = ("failed", "expired", "unknown", "blocked")
PAGE = 1000


@dataclass(frozen=True)
class ReportLine:
    recipient: RecipientOutcome
    outcome: str
    replied: bool
    opted_out: bool

    @property
    def detail(self) -> str | None:
        """Why it ended so: the modem's or the ledger's reason for a message."""
        return self.recipient.error if self.recipient.state == "submitted" else None


def outcome_of(r: RecipientOutcome) -> str:
    """The one word the report gives a recipient (a key of OUTCOME_SQL)."""
    if r.state == "excluded":
        return f"excluded_{r.exclusion}"
    if r.state == "pending" or r.message_state is None:
        return "pending"
    return r.message_state


def parse_outcomes(values: Sequence[str], field: str = "outcome") -> tuple[str, ...]:
    """Outcome filters as given (repeated or comma-separated); `not_reached` stands for NOT_REACHED."""
    chosen: list[str] = []
    for value in values:
        for word in filter(None, (w.strip() for w in value.split(","))):
            words = NOT_REACHED if word == "not_reached" else (word,)
            for w in words:
                if w not in OUTCOME_SQL:
                    raise InvalidInput(field, code="campaign.unknown_outcome", word=word, outcomes=", ".join(OUTCOMES))
                if w not in chosen:
                    chosen.append(w)
    return tuple(chosen)


class CampaignReport:
    """Reads one campaign's report, a page at a time."""

    def __init__(self, db: Database, campaign_id: int, attribution_hours: int,
                 outcomes: Sequence[str] = ()) -> None:
        self.db = db
        self.campaign_id = campaign_id
        self.hours = attribution_hours
        self.outcomes = tuple(outcomes)
        # The campaign's id span, looked up by the first page (a walk of the whole campaign) and
        # kept: recipients a refresh adds later get higher ids, so a report started before them
        # ends before them.
        self._span: tuple[int, int] | None = None

    async def page(self, after_id: int = 0, limit: int = PAGE) -> list[ReportLine]:
        """Up to `limit` lines after recipient id `after_id`, in recipient order. The reply and
        STOP marks are looked up for the page's id range only: paging through a campaign costs
        one pass over it, not one per page."""
        async with self.db.read() as conn:
            if self._span is None:
                self._span = await store.recipient_id_span(conn, self.campaign_id)
                if self._span is None:
                    return []
            first, last = self._span
            rows = await store.recipient_outcomes(conn, self.campaign_id, after_id=max(after_id, first - 1),
                                                  upto_id=last, limit=limit, outcomes=self.outcomes)
            if not rows:
                return []
            ids = (rows[0].id - 1, rows[-1].id)
            replied = await store.replied(conn, self.campaign_id, self.hours, ids)
            opted_out = await store.opted_out_after(conn, self.campaign_id, self.hours, ids)
        return [ReportLine(r, outcome_of(r), r.id in replied, r.id in opted_out) for r in rows]

    async def pages(self, size: int = PAGE) -> AsyncIterator[list[ReportLine]]:
        """Every line, a page at a time (each page its own short read)."""
        after = 0
        while page := await self.page(after, size):
            yield page
            if len(page) < size:
                return
            after = page[-1].recipient.id

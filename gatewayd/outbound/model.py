"""Outbound vocabulary: message states, categories and the NewMessage value callers submit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple
from datetime import datetime, timedelta
from enum import Enum

from gatewayd.store.messages import MessageDetail, MessageRow, PartRow

__all__ = [
    "ACTIVE_STATES", "FINAL_STATES", "OPTOUT_EXEMPT_SOURCES", "Category", "MessageDetail", "MessageRow", "MessageState",
    "NewMessage", "PartRow", "Receipt", "SOURCES", "optout_applies",
]


class MessageState(str, Enum):
    """The states of an SMS in the send ledger (stored as their lower-case value); the README's HTTP API
    section lists them as clients see them."""

    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    BLOCKED = "blocked"
    CANCELED = "canceled"
    UNKNOWN = "unknown"


class Category(str, Enum):
    """Marketing waits for the quiet-hours window and is blocked by any opt-out."""

    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


# `sent` is final for the sender (only a report can still move it on to delivered/failed).
FINAL_STATES = frozenset({"sent", "delivered", "failed", "expired", "blocked", "canceled", "unknown"})
ACTIVE_STATES = frozenset({"scheduled", "queued", "sending"})
SOURCES = frozenset({"api", "console", "campaign", "reply", "auto-reply", "optout-confirm", "alert"})
# The confirmation answering a STOP goes to a number that has just opted out: the opt-out must
# not swallow it (with scope "all" it otherwise would). Only this source is exempt.
OPTOUT_EXEMPT_SOURCES = frozenset({"optout-confirm"})


def optout_applies(category: str, source: str, *, scope_all: bool) -> bool:
    """Whether the opt-out list may block a message of this category and source."""
    if source in OPTOUT_EXEMPT_SOURCES:
        return False
    return scope_all or category == Category.MARKETING.value


class NewMessage(NamedTuple):
    """One SMS to submit; `to` must already be E.164 (gatewayd.phone.normalise).

    A named tuple, not a frozen dataclass: a campaign launch builds 200,000 of them, and a frozen
    dataclass's __init__ costs three times as much (bench/campaigns.py)."""

    to: str
    text: str
    category: Category = Category.TRANSACTIONAL
    send_at: datetime | None = None
    line: str | None = None
    ttl: timedelta | None = None
    priority: int = 0                      # lower = sooner: API/console 0, campaign bulk 10
    campaign_id: int | None = None
    campaign_recipient_id: int | None = None
    thread_id: int | None = None
    source: str = "api"
    api_key_id: int | None = None          # counted against that key's daily cap
    created_by: str | None = None          # who asked: 'console <user>' | 'api key <name>'
    client_ref: str | None = None          # the client's own reference, echoed in webhook events
    line_soft: bool = False                # `line` is the line choice rule's, dropped if that line goes down


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a submit committed: ids (consecutive, in request order), recipients and states."""

    ids: range
    to: tuple[str, ...]
    states: tuple[str, ...]

"""Per-campaign progress and outcome figures, and the same summed over a tag."""

from __future__ import annotations

from collections import Counter
from typing import Any

from gatewayd.campaigns.service import CampaignService
from gatewayd.store import campaigns as store

_FIGURES = ("queued", "sent", "delivered", "failed", "blocked", "expired", "unknown", "canceled",
            "replies", "opt_outs")


def summarise(recipients: dict[str, int], states: dict[str, int], replies: int | None, opt_outs: int) -> dict[str, Any]:
    """Counters from recipient and message states (pure). 'sent' counts every message that left."""
    queued = states.get("scheduled", 0) + states.get("queued", 0) + states.get("sending", 0)
    sent = states.get("sent", 0) + states.get("delivered", 0)
    failed = states.get("failed", 0)
    figures: dict[str, int | None] = {
        "queued": queued,
        "sent": sent,
        "delivered": states.get("delivered", 0),
        "failed": failed,
        "blocked": states.get("blocked", 0),
        "expired": states.get("expired", 0),
        "unknown": states.get("unknown", 0),
        "canceled": states.get("canceled", 0),
        "replies": replies,
        "opt_outs": opt_outs,
    }
    to_send = recipients.get("pending", 0) + recipients.get("submitted", 0)
    done = to_send - recipients.get("pending", 0) - queued
    return {
        "recipients": {"total": to_send + recipients.get("excluded_opted_out", 0)
                       + recipients.get("excluded_invalid", 0) + recipients.get("excluded_deleted", 0)
                       + recipients.get("excluded_text", 0),
                       "to_send": recipients.get("pending", 0), "submitted": recipients.get("submitted", 0),
                       "excluded_opted_out": recipients.get("excluded_opted_out", 0),
                       "excluded_invalid": recipients.get("excluded_invalid", 0),
                       "excluded_deleted": recipients.get("excluded_deleted", 0),
                       "excluded_text": recipients.get("excluded_text", 0)},
        **figures,
        "progress": round(done / to_send, 4) if to_send else 1.0,
        "failure_rate": round(failed / (sent + failed), 4) if sent + failed else 0.0,
    }


async def campaign_stats(service: CampaignService, campaign_id: int) -> dict[str, Any]:
    campaign = await service.get(campaign_id)
    hours = service.settings.campaigns.attribution_hours
    async with service.db.read() as conn:
        recipients = await store.recipient_counts(conn, campaign_id)
        states = await store.message_states(conn, campaign_id)
        opt_outs = await store.optouts_caused(conn, campaign_id, hours)
        replies = await store.replies(conn, campaign_id, hours)
    out = summarise(recipients, states, replies, opt_outs)
    out.update({"campaign_id": campaign_id, "name": campaign.name, "tag": campaign.tag, "state": campaign.state,
                "pause_reason": campaign.pause_reason, "duplicates_left_out": campaign.duplicates})
    return out


async def tag_stats(service: CampaignService, tag: str) -> dict[str, Any]:
    """The figures of every campaign carrying `tag`, summed."""
    ids = await store.tag_campaign_ids(service.db, tag)
    total: Counter[str] = Counter()
    recipients: Counter[str] = Counter()
    replies_known = True
    for campaign_id in ids:
        one = await campaign_stats(service, campaign_id)
        recipients.update(one["recipients"])
        for key in _FIGURES:
            if one[key] is None:
                replies_known = False
            else:
                total[key] += one[key]
    out: dict[str, Any] = {"tag": tag, "campaigns": len(ids), "recipients": dict(recipients),
                           **{k: total[k] for k in _FIGURES}}
    if not replies_known:
        out["replies"] = None
    return out

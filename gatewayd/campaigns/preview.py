"""Campaign preview: the first recipients rendered, totals over the whole audience, and a duration.

Reads only: the audience is resolved batch by batch exactly as launch would, without writing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from gatewayd.campaigns import audience as aud
from gatewayd.campaigns.estimate import LineCap, estimate_duration
from gatewayd.campaigns.rendering import load_texts
from gatewayd.campaigns.checks import AudienceReport, TextCheck, TextDecision
from gatewayd.campaigns.service import CampaignService
from gatewayd.config import Settings
from gatewayd.modem.segments import count_segments
from gatewayd.store import campaigns as store
from gatewayd.store import imports as import_store
from gatewayd.store import optouts

MISSING_LISTED = 50
REMEMBERED = 16  # campaigns whose last preview's text checks are kept for their launch


def line_caps(settings: Settings, line: str | None, category: str,
              lines: list[str]) -> tuple[list[LineCap], float, float]:
    """(caps of the lines that will send, sending hours per day, seconds per segment) from the
    outbound settings: per-line caps (segments per minute/hour/day), spacing, quiet hours
    (marketing only: the weekly window and its days, averaged over the week)."""
    out = settings.outbound
    names = [name for name in lines if line is None or name == line] or [line or "pool"]
    hourly = [c for c in (out.per_line_per_hour, out.per_line_per_minute * 60 if out.per_line_per_minute else None)
              if c is not None]
    caps = [LineCap(n, min(hourly) if hourly else None, out.per_line_per_day) for n in names]
    hours = 24.0
    quiet = settings.quiet_hours
    if category == "marketing" and quiet.enabled:
        start = quiet.send_from.hour + quiet.send_from.minute / 60
        end = quiet.send_until.hour + quiet.send_until.minute / 60
        window = (end - start) % 24 or 24.0
        hours = window * len(quiet.days) / 7
    spacing = (out.spacing_min_seconds + out.spacing_max_seconds) / 2
    return caps, hours, max(out.seconds_per_message, spacing)


def remember_checks(service: CampaignService, campaign_id: int, version: int, checks: dict[str, Any]) -> None:
    """Keep the whole-audience check for the launch that usually follows the preview (a few campaigns)."""
    seen = service.text_checks_seen
    seen.pop(campaign_id, None)
    while len(seen) >= REMEMBERED:
        seen.pop(next(iter(seen)))
    seen[campaign_id] = (version, checks)


async def preview(service: CampaignService, campaign_id: int) -> dict[str, Any]:
    """What the campaign would send if launched now (drafts and scheduled), or what remains."""
    campaign = await service.get(campaign_id)
    settings = service.settings
    first_n = settings.campaigns.preview_recipients
    samples: list[dict[str, Any]] = []
    seen: set[str] = set()
    totals: Counter[str] = Counter()
    per_template: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    lacking: list[dict[str, Any]] = []  # the first recipients left without a value, by name
    spec = aud.AudienceSpec.from_json(campaign.audience)
    composer = service.composer
    async with service.db.read() as conn:
        version = await service.db.data_version()  # before anything is read (see remember_checks)
        texts = await load_texts(conn, campaign)
        unknown = await service.unknown_variables(conn, campaign)
        decision = TextDecision.of(campaign.audience)
        check = TextCheck(texts, composer, category=campaign.category, max_segments=settings.sending.max_segments,
                          decision=decision)
        report = AudienceReport()
        async for batch in aud.drafts(conn, spec, region=settings.sending.default_region, imports=service.imports):
            fresh = []
            for d in batch:
                if d.number in seen:
                    totals["duplicate"] += 1
                    continue
                seen.add(d.number)
                if d.invalid is not None:
                    totals["invalid"] += 1
                    continue
                fresh.append(d)
            blocked = await optouts.opted_out_among(conn, [d.number for d in fresh]) \
                if campaign.category == "marketing" or settings.optout.scope == "all" else set()
            for d in fresh:
                if d.number in blocked:
                    totals["opted_out"] += 1
                    continue
                # What outbound's composition will send (the STOP mention in the reader's
                # language, the site's GSM-7 look-alikes), with the defaults chosen, checked.
                checked = check.check(texts.values_of(d.values), d.language)
                rendered, done = checked.rendered, checked.done
                if checked.problems:
                    report.add(d.number, d.contact_id, checked.problems)
                    if decision.exclude:
                        totals["text"] += 1
                        continue
                totals["recipients"] += 1
                per_template[texts.template_for(d.language)] += 1
                for name in rendered.missing:
                    missing[name] += 1
                if rendered.missing and len(lacking) < MISSING_LISTED:
                    lacking.append({"number": d.number, "contact_id": d.contact_id, "source": d.source,
                                    "missing_variables": list(rendered.missing)})
                if len(samples) < first_n:
                    info = count_segments(done.text)
                    samples.append({"number": d.number, "contact_id": d.contact_id, "source": d.source,
                                    "template": texts.template_for(d.language), "text": done.text,
                                    "encoding": info.encoding, "ucs2_characters": list(info.ucs2_forcing),
                                    "characters": info.characters, "segments": info.segments,
                                    "missing_variables": list(rendered.missing),
                                    "transliterated": [f"{a}→{b}" for a, b, _ in done.replaced],
                                    "segments_saved": done.segments_saved})
                totals["segments"] += done.segments
        if spec.file_import_id is not None:
            row = await import_store.get_in(conn, spec.file_import_id)
            if row is not None and row.analysis is not None:
                totals["invalid"] += row.analysis.get("invalid", {}).get("count", 0)
                totals["duplicate"] += row.analysis.get("duplicates_in_file", {}).get("count", 0)
        already = await store.recipient_counts(conn, campaign_id)
    text_checks = report.as_json(decision)
    remember_checks(service, campaign_id, version, text_checks)
    caps, hours, seconds = line_caps(settings, texts.line, campaign.category, service.lines.names())
    # Caps and modem speed count segments: a two-part SMS costs two.
    estimate = estimate_duration(totals["segments"], caps, sending_hours_per_day=hours, seconds_per_message=seconds)
    over_cap = aud.cap_problem(totals["recipients"], settings.campaigns.max_recipients)
    return {
        "campaign_id": campaign_id, "state": campaign.state, "category": campaign.category,
        "stop_mention": campaign.stop_mention or None, "line": texts.line,
        "recipients": samples,
        "totals": {"recipients": totals["recipients"], "segments": totals["segments"],
                   "excluded": {"opted_out": totals["opted_out"], "invalid": totals["invalid"],
                                "duplicate": totals["duplicate"], "text": totals["text"]},
                   "by_template": dict(per_template), "already_materialised": already},
        "unknown_variables": unknown,
        "max_recipients": settings.campaigns.max_recipients,
        "over_cap": over_cap.english() if over_cap else None,  # the API's English; the console words the code
        "over_cap_problem": over_cap.as_data() if over_cap else None,
        "missing_variables": dict(missing),
        "text_checks": text_checks,
        "recipients_missing_values": lacking,
        "estimated_duration": {"seconds": round(estimate.seconds), "text": estimate.text,
                               "sending_hours_per_day": estimate.sending_hours_per_day,
                               "messages_per_day": round(estimate.messages_per_day),
                               "lines": [{"name": c.name, "per_hour": c.per_hour, "per_day": c.per_day}
                                         for c in caps]},
    }

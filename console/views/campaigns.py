"""Campaigns: wizard (name, tag, templates, recipients → preview → schedule → confirm), list, live detail."""

from __future__ import annotations

import re
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from console.forms import (
    Form,
    actor,
    checked,
    cursor_int,
    encode_cursor,
    ints,
    local_datetime,
    path_id,
    text,
    texts,
)
from console.render import field_errors, formats, fragment, message_error, redirect, render, t
from console.routing import Pages
from console.views.imports import read_upload

from gatewayd import keys
from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.checks import TextDecision
from gatewayd.outbound.compose import Draft, Recipient
from gatewayd.outbound.model import Category
from gatewayd.phone import InvalidNumber, normalise
from gatewayd.campaigns.preview import preview
from gatewayd.campaigns.report import CampaignReport, ReportLine, parse_outcomes
from gatewayd.campaigns.service import NewCampaign, check_template_text
from gatewayd.campaigns.stats import campaign_stats, tag_stats
from gatewayd.csv_export import csv_stream
from gatewayd.downloads import send_download
from gatewayd.errors import Conflict, InvalidInput, PayloadTooLarge
from gatewayd.store import campaigns as store
from gatewayd.store import contacts as contact_store
from gatewayd.store import groups as group_store
from gatewayd.store import templates as template_store

pages = Pages()
PAGE = 30
STATES = ("draft", "scheduled", "running", "paused", "completed", "canceled")
_SPLIT = re.compile(r"[\n,;]+")


@pages.get("/campaigns", name="campaigns")
async def campaign_list(request: web.Request) -> web.Response:
    state = request.query.get("state") or None
    if state not in (None, *STATES):
        state = None
    tag = request.query.get("tag", "").strip()[:64] or None
    after = cursor_int(request)
    page = await store.list_page(request.app[keys.DB], after_id=after, limit=PAGE, state=state, tag=tag)
    by_tag = await tag_stats(request.app[keys.CAMPAIGNS], tag) if tag else None
    return await render(request, "campaigns/list.html", {
        "campaigns": page, "state": state, "states": STATES, "tag": tag, "by_tag": by_tag,
        "next_after": encode_cursor(page[-1].id) if len(page) == PAGE else None, "paged": after is not None})


async def _wizard(request: web.Request, values: dict[str, Any], errors: dict[str, str],
                  status: int = 200, editing: Any | None = None) -> web.Response:
    db = request.app[keys.DB]
    contacts = []
    for cid in values["contacts"][:200]:
        contact = await contact_store.get(db, cid)
        if contact is not None:
            contacts.append(contact)
    return await render(request, "campaigns/new.html", {
        "values": values, "errors": errors, "picked_contacts": contacts, "editing": editing,
        "templates": await template_store.list_page(db, limit=500),
        "groups": await group_store.list_page(db, limit=500),
        "lines": request.app[keys.POOL].names(),
        "max_segments": request.app[keys.SETTINGS].sending.max_segments,
        "mention": request.app[keys.SETTINGS].campaigns.mention()}, status=status)


def _values(form: Form | None) -> dict[str, Any]:
    if form is None:
        return {"name": "", "tag": "", "category": "marketing", "line": "", "template_default": None,
                "template_fr": None, "template_en": None, "new_text": "", "groups": [], "contacts": [],
                "numbers": "", "timing_kind": "", "timing_column": "", "timing_offset": "days", "timing_days": "1",
                "timing_at": "10:00", "timing_hours": "2", "timing_dow": [], "timing_dom": "", "timing_rec_at": "09:00",
                "transliterate": False}

    def tid(name: str) -> int | None:
        raw = text(form, name, 20)
        return int(raw) if raw.isdigit() else None
    return {"name": text(form, "name", 200), "tag": text(form, "tag", 64),
            "category": "transactional" if text(form, "category", 20) == "transactional" else "marketing",
            "line": text(form, "line", 32), "template_default": tid("template_default"),
            "template_fr": tid("template_fr"), "template_en": tid("template_en"),
            "new_text": text(form, "new_text", 5000), "groups": ints(form, "group"), "contacts": ints(form, "contact"),
            "numbers": text(form, "numbers", 200_000), "timing_kind": text(form, "timing_kind", 10),
            "timing_column": text(form, "timing_column", 100), "timing_offset": text(form, "timing_offset", 10),
            "timing_days": text(form, "timing_days", 5), "timing_at": text(form, "timing_at", 5),
            "timing_hours": text(form, "timing_hours", 6), "timing_dow": texts(form, "timing_dow", 3),
            "timing_dom": text(form, "timing_dom", 3), "timing_rec_at": text(form, "timing_rec_at", 5),
            "transliterate": checked(form, "transliterate")}


def _timing(values: dict[str, Any]) -> dict[str, Any] | None:
    """The wizard's "when" answers as the service's timing (it checks them)."""
    def number(raw: str, field: str) -> float:
        try:
            return float(raw.replace(",", "."))
        except ValueError:
            raise InvalidInput(field, code="number.not_integer", raw=raw) from None

    if values["timing_kind"] == "reminder":
        if values["timing_offset"] == "minutes":
            return {"kind": "reminder", "column": values["timing_column"],
                    "minutes_before": round(number(values["timing_hours"], "timing.minutes_before") * 60)}
        return {"kind": "reminder", "column": values["timing_column"],
                "days_before": int(number(values["timing_days"], "timing.days_before")), "at": values["timing_at"]}
    if values["timing_kind"] == "recurring":
        dom = values["timing_dom"].strip()
        return {"kind": "recurring", "days_of_week": values["timing_dow"],
                "day_of_month": int(number(dom, "timing.day_of_month")) if dom and not values["timing_dow"] else None,
                "at": values["timing_rec_at"]}
    return None


@pages.get("/campaigns/new", role="operator", name="campaign_new")
async def new_campaign(request: web.Request) -> web.Response:
    return await _wizard(request, _values(None), {})


def _campaign_values(c: Any) -> dict[str, Any]:
    """A draft's own values in the wizard's shape (editing it)."""
    spec = AudienceSpec.from_json(c.audience)
    return {**_values(None), "name": c.name, "tag": c.tag, "category": c.category, "line": c.line or "",
            "template_default": c.templates.get("default"), "template_fr": c.templates.get("fr"),
            "template_en": c.templates.get("en"), "new_text": "", "groups": list(spec.group_ids),
            "contacts": list(spec.contact_ids), "numbers": "\n".join(spec.numbers), "file": spec.file_import_id,
            "transliterate": bool(c.transliterate)}


@pages.get("/campaigns/{id:\\d+}/edit", role="operator", name="campaign_edit")
async def edit_campaign(request: web.Request) -> web.Response:
    campaign = await request.app[keys.CAMPAIGNS].get(path_id(request))
    if campaign.state != "draft":
        raise redirect(request, f"/campaigns/{campaign.id}")
    return await _wizard(request, _campaign_values(campaign), {}, editing=campaign)


@pages.post("/campaigns/{id:\\d+}/edit", role="operator", multipart=True)
async def update_campaign(request: web.Request) -> web.StreamResponse:
    return await _save_campaign(request, await request.app[keys.CAMPAIGNS].get(path_id(request)))


@pages.post("/campaigns/new", role="operator", multipart=True)
async def create_campaign(request: web.Request) -> web.StreamResponse:
    return await _save_campaign(request, None)


async def _save_campaign(request: web.Request, editing: Any | None) -> web.StreamResponse:
    app = request.app
    try:
        upload = await read_upload(request, required=False)
    except (InvalidInput, PayloadTooLarge) as exc:
        return await _wizard(request, _campaign_values(editing) if editing else _values(None),
                             field_errors(exc, request), exc.status, editing=editing)
    form = upload.fields
    values = _values(form)
    try:
        # Editing keeps the draft's file unless another one is uploaded (or it is removed).
        file_id = AudienceSpec.from_json(editing.audience).file_import_id \
            if editing is not None and text(form, "keep_file", 5) == "on" else None
        if upload.chunks is not None and upload.filename:
            row = await app[keys.IMPORTS].save_upload(upload.chunks, filename=upload.filename, purpose="campaign",
                                                      created_by=actor(request))
            await app[keys.IMPORTS].analyse(row.id)
            file_id = row.id
        templates = await _templates(request, values)
        numbers = tuple(n.strip() for n in _SPLIT.split(values["numbers"]) if n.strip())
        spec = AudienceSpec(tuple(values["groups"]), tuple(values["contacts"]), numbers, file_id)
        if spec.is_empty():
            raise InvalidInput("audience", t(request, "campaigns.no_audience"))
        new = NewCampaign(name=values["name"], templates=templates, audience=spec, tag=values["tag"],
                          category=values["category"], line=values["line"] or None, created_by=actor(request),
                          timing=_timing(values), transliterate=True if values["transliterate"] else None)
        if editing is None:
            campaign, _unknown = await app[keys.CAMPAIGNS].create(new)
        else:
            campaign, _unknown = await app[keys.CAMPAIGNS].update(editing.id, new)
    except (InvalidInput, Conflict, PayloadTooLarge) as exc:
        return await _wizard(request, values, field_errors(exc, request), 422, editing=editing)
    raise redirect(request, f"/campaigns/{campaign.id}/preview")


async def _templates(request: web.Request, values: dict[str, Any]) -> dict[str, int]:
    """Chosen templates per language; a text typed in the wizard becomes a new default template."""
    out: dict[str, int] = {}
    if values["new_text"].strip():
        async with request.app[keys.DB].read() as conn:
            known = await contact_store.field_names(conn)
        check_template_text(values["new_text"], known)
        out["default"] = await template_store.insert(
            request.app[keys.DB], title=(values["name"].strip() or "campaign")[:200], line=values["line"] or None,
            text=values["new_text"], now=request.app[keys.CLOCK].now())
        values["template_default"], values["new_text"] = out["default"], ""
    elif values["template_default"] is not None:
        out["default"] = values["template_default"]
    else:
        raise InvalidInput("templates.default", t(request, "campaigns.template_required"))
    for lang in ("fr", "en"):
        if values[f"template_{lang}"] is not None:
            out[lang] = values[f"template_{lang}"]
    return out


async def _preview_page(request: web.Request, campaign_id: int, errors: dict[str, str],
                        status: int = 200, extra: dict[str, str] | None = None) -> web.Response:
    service = request.app[keys.CAMPAIGNS]
    campaign = await service.get(campaign_id)
    data = await preview(service, campaign.id)
    step = await service.variables_step(campaign.id)
    templates = {tid: await template_store.get(request.app[keys.DB], tid) for tid in campaign.templates.values()}
    return await render(request, "campaigns/preview.html", {"c": campaign, "p": data, "templates": templates,
                                                            "v": step, "errors": errors,
                                                            "when": (extra or {}).get("when", ""), "send_at": (extra or {}).get("send_at", ""),
                                                            "test_number": (extra or {}).get("test_number", ""),
                                                            "max_segments": service.settings.sending.max_segments}, status=status)


@pages.get("/campaigns/{id:\\d+}/preview", name="campaign_preview")
async def show_preview(request: web.Request) -> web.Response:
    return await _preview_page(request, path_id(request), {})


@pages.post("/campaigns/{id:\\d+}/variables", role="operator", name="campaign_variables")
async def set_variables(request: web.Request) -> web.StreamResponse:
    """The mapping step: each template variable takes a column (or contact field) and a default value."""
    service = request.app[keys.CAMPAIGNS]
    campaign_id = path_id(request)
    form = await request.post()
    step = await service.variables_step(campaign_id)
    mapping = {name: {"source": text(form, f"source.{name}", 60) or None, "default": text(form, f"default.{name}", 200)}
               for name in step["variables"]}
    try:
        await service.set_variables(campaign_id, mapping)
    except (InvalidInput, Conflict) as exc:
        return await _preview_page(request, campaign_id, field_errors(exc, request), exc.status)
    raise redirect(request, f"/campaigns/{campaign_id}/preview", "saved")


@pages.post("/campaigns/{id:\\d+}/text-checks", role="operator", name="campaign_text_checks")
async def text_checks(request: web.Request) -> web.StreamResponse:
    """The launcher's decision on recipients whose text has a problem (defaults, exclusion)."""
    form = await request.post()
    defaults = {str(k)[8:][:64]: text(form, str(k), 500).strip() for k in form
                if str(k).startswith("default.") and text(form, str(k), 500).strip()}
    await request.app[keys.CAMPAIGNS].decide_texts(path_id(request),
                                                   TextDecision(defaults, text(form, "exclude", 5) == "on"))
    raise redirect(request, f"/campaigns/{path_id(request)}/preview", "saved")


@pages.post("/campaigns/{id:\\d+}/test", role="operator", name="campaign_test")
async def send_test(request: web.Request) -> web.StreamResponse:
    """Send the first recipient's text to a number of the user's (their own phone), through
    outbound's composition like the campaign's messages (STOP mention, look-alikes)."""
    service = request.app[keys.CAMPAIGNS]
    campaign_id = path_id(request)
    form = await request.post()
    raw = text(form, "test_number", 40)
    try:
        number = normalise(raw, request.app[keys.SETTINGS].sending.default_region)
    except InvalidNumber as exc:
        return await _preview_page(request, campaign_id, field_errors(InvalidInput(problems=[exc.problem.at(
            "test_number")]), request), 422, {"test_number": raw})
    sample, language, line = await service.sample_text(campaign_id)
    campaign = await service.get(campaign_id)
    await request.app[keys.OUTBOUND].submit_draft(Draft(
        recipients=[Recipient(number, language=language, lookup=False)], text=sample,
        category=Category(campaign.category), line=line, source="console", created_by=actor(request)))
    raise redirect(request, f"/campaigns/{campaign_id}/preview", "test_sent")


@pages.post("/campaigns/{id:\\d+}/schedule", role="operator", name="campaign_schedule")
async def schedule(request: web.Request) -> web.StreamResponse:
    service = request.app[keys.CAMPAIGNS]
    campaign_id = path_id(request)
    form = await request.post()
    tz = ZoneInfo(request.app[keys.SETTINGS].site.timezone)
    try:
        if text(form, "confirm", 5) != "on":
            raise InvalidInput("confirm", t(request, "campaigns.confirm_required"))
        when = local_datetime(text(form, "send_at", 30), tz, "send_at") if text(form, "when", 10) == "later" else None
        if text(form, "when", 10) == "later" and when is None:
            raise InvalidInput("send_at", t(request, "campaigns.send_at_required"))
        campaign = await service.schedule(campaign_id, when)
    except (InvalidInput, Conflict) as exc:
        return await _preview_page(request, campaign_id, field_errors(exc, request), exc.status,
                                   {"when": text(form, "when", 10), "send_at": text(form, "send_at", 30)})
    raise redirect(request, f"/campaigns/{campaign.id}",
                   "campaign_scheduled" if campaign.state == "scheduled" else "campaign_launched")


async def _detail_context(request: web.Request, campaign_id: int) -> dict[str, Any]:
    service = request.app[keys.CAMPAIGNS]
    campaign = await service.get(campaign_id)
    async with request.app[keys.DB].read() as conn:
        occurrences = await store.occurrences(conn, campaign_id) if campaign.timing else []
    # Before launch nobody is a recipient yet: the figures are the preview's (what a launch would
    # send now), not zeros and a progress of 100 %.
    planned = await preview(service, campaign_id) if campaign.state in ("draft", "scheduled") else None
    return {"c": campaign, "s": await campaign_stats(service, campaign_id), "planned": planned,
            "next_sends": await service.next_sends(campaign), "occurrences": occurrences,
            "attribution_hours": service.settings.campaigns.attribution_hours}


@pages.get("/campaigns/{id:\\d+}", name="campaign")
async def detail(request: web.Request) -> web.Response:
    return await render(request, "campaigns/detail.html", await _detail_context(request, path_id(request)))


@pages.get("/campaigns/{id:\\d+}/progress", name="campaign_progress", json=True)
async def progress(request: web.Request) -> web.Response:
    """The live part of the detail page, rendered by the server (escaped) for the poller."""
    ctx = await _detail_context(request, path_id(request))
    if ctx["planned"] is not None:   # not launched: the page keeps its preview figures (no preview per poll)
        return web.json_response({"html": "", "done": False})
    html = fragment(request, "campaigns/_progress.html", ctx)
    return web.json_response({"html": html, "done": ctx["c"].state in ("completed", "canceled")})


REPORT_COLUMNS = ("number", "last_name", "first_name", "outcome", "detail", "line", "segments", "sent_at",
                  "delivered_at", "replied", "opted_out", "message")


@pages.get("/campaigns/{id:\\d+}/report.csv", role="operator", name="campaign_report")
async def report_csv(request: web.Request) -> web.StreamResponse:
    """Who got what, one row per recipient, in the user's language and the box's time (for Excel)."""
    service = request.app[keys.CAMPAIGNS]
    campaign = await service.get(path_id(request))
    report = CampaignReport(request.app[keys.DB], campaign.id, service.settings.campaigns.attribution_hours,
                            parse_outcomes(request.query.getall("outcome", [])))
    fmt = formats(request)
    yes, no = t(request, "campaigns.report.yes"), t(request, "campaigns.report.no")

    def cells(x: ReportLine) -> list[object]:
        r = x.recipient
        # Message states have their console names; the other outcomes are the report's own.
        outcome = t(request, f"campaigns.report.{x.outcome}" if x.outcome == "pending" or r.state == "excluded"
                    else f"state.{x.outcome}")
        detail = message_error(request, r) if x.detail else None
        return [r.number, r.last_name, r.first_name, outcome, detail, r.line, r.segments, fmt.stamp(r.sent_at),
                fmt.stamp(r.delivered_at), yes if x.replied else no, yes if x.opted_out else no, r.message_id]

    async def rows() -> Any:
        async for page in report.pages():
            yield [cells(x) for x in page]

    header = [t(request, f"campaigns.report.{c}") for c in REPORT_COLUMNS]
    return await send_download(request, csv_stream(header, rows()), "text/csv; charset=utf-8",
                               f"campaign-{campaign.id}-recipients.csv")


def _action(name: str, done: str) -> Any:
    async def act(request: web.Request) -> web.StreamResponse:
        service = request.app[keys.CAMPAIGNS]
        campaign_id = path_id(request)
        if name == "pause":
            await service.pause(campaign_id, t(request, "campaigns.paused_by", who=actor(request)))
        elif name == "refresh":
            await service.refresh(campaign_id)
        elif name == "delete":
            await service.delete(campaign_id)
            raise redirect(request, "/campaigns", done)
        else:
            await getattr(service, name)(campaign_id)
        raise redirect(request, f"/campaigns/{campaign_id}", done)
    act.__name__ = f"campaign_{name}"
    return act


for _name, _done in (("pause", "campaign_paused"), ("resume", "campaign_resumed"), ("cancel", "campaign_canceled"),
                     ("refresh", "refreshed"),
                     ("delete", "deleted")):
    pages.post(f"/campaigns/{{id:\\d+}}/{_name}", role="operator", name=f"campaign_{_name}")(_action(_name, _done))

"""/api/v1/campaigns: create, preview, schedule, pause, resume, cancel, refresh, stats (and by tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api import schemas as S
from gatewayd.api.auth import actor, require_scope
from gatewayd.api.body import RowId, parse_body
from gatewayd.api.paging import next_cursor, page_args, page_schema, path_id
from gatewayd.api.schemas import CAMPAIGN_SCHEMA, STATS_SCHEMA
from gatewayd.api.openapi import describe
from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.checks import TextDecision
from gatewayd.campaigns.preview import preview
from gatewayd.campaigns.report import OUTCOMES, CampaignReport, ReportLine, parse_outcomes
from gatewayd.campaigns.service import NewCampaign
from gatewayd.campaigns.stats import campaign_stats, tag_stats
from gatewayd.clock import utc_iso
from gatewayd.errors import InvalidInput
from gatewayd.store import campaigns as store
from gatewayd.store.campaigns import Campaign

routes = web.RouteTableDef()


class AudienceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    groups: list[RowId] = Field([], max_length=100)
    contacts: list[RowId] = Field([], max_length=100_000)
    numbers: list[str] = Field([], max_length=10_000)
    file: RowId | None = None  # an analysed import uploaded with purpose=campaign (or contacts)


class VariableBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, max_length=60)   # a file column (its field name) or a contact field
    default: str = Field("", max_length=200)           # when the recipient has no value


Variables = dict[str, VariableBody]


def variables_data(body: Variables | None) -> dict[str, dict[str, str | None]]:
    return {name[:40]: {"source": v.source or None, "default": v.default} for name, v in (body or {}).items()}


class VariablesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    variables: Variables = Field(max_length=100)


class TimingBody(BaseModel):
    """A reminder per recipient (send time from a date column) or a recurring campaign."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["reminder", "recurring"]
    column: str | None = Field(None, max_length=100)         # reminder: the column holding each date
    days_before: int | None = Field(None, ge=0, le=90)       # reminder: "the day before" = 1, with `at`
    at: str | None = Field(None, max_length=5)                # HH:MM
    minutes_before: int | None = Field(None, ge=0, le=43200)  # reminder: "2 hours before" = 120
    days_of_week: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field([], max_length=7)
    day_of_month: int | None = Field(None, ge=1, le=28)       # recurring: every month on this day


class CampaignBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    tag: str = Field("", max_length=64)
    category: Literal["marketing", "transactional"] = "marketing"
    templates: dict[Literal["default", "fr", "en"], RowId]
    line: str | None = Field(None, max_length=32)
    audience: AudienceBody
    # Template variable -> the column giving its value and a default ({"prenom": {"source": "first_name"}}).
    variables: Variables | None = Field(None, max_length=100)
    timing: TimingBody | None = None
    transliterate: bool | None = Field(None, description="GSM-7 look-alikes (ë→e, ’→') for every text of the"
                                                         " campaign; null: each template's own switch, else"
                                                         " [sending] transliterate")


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    send_at: AwareDatetime | None = None


class TextChecksBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: dict[str, str] = Field({}, max_length=50, description="a value for each variable left empty")
    exclude: bool = Field(False, description="leave out recipients whose text still has a problem")


class PauseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=200)


def campaign_json(c: Campaign, **extra: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "tag": c.tag,
        "category": c.category,
        "state": c.state,
        "line": c.line,
        "templates": c.templates,
        "audience": c.audience,
        "stop_mention": c.stop_mention or None,
        "scheduled_at": utc_iso(c.scheduled_at),
        "started_at": utc_iso(c.started_at),
        "paused_at": utc_iso(c.paused_at),
        "pause_reason": c.pause_reason,
        "pause_code": c.pause_code,
        "transliterate": c.transliterate,
        "finished_at": utc_iso(c.finished_at),
        "created_by": c.created_by,
        "created_at": utc_iso(c.created_at),
        "updated_at": utc_iso(c.updated_at),
        "timing": c.timing,
        "timing_report": c.timing_report,
        "parent_id": c.parent_id,
        **extra,
    }


async def with_next_sends(request: web.Request, c: Campaign, **extra: Any) -> web.Response:
    """A campaign's JSON with its next send times (reminders due, occurrences of a recurring one)."""
    nexts = await request.app[keys.CAMPAIGNS].next_sends(c)
    return web.json_response(campaign_json(c, next_send_at=[utc_iso(t) for t in nexts], **extra))


@routes.get("/api/v1/campaigns")
@describe(
    "List campaigns, newest first",
    tag="campaigns",
    scope="read",
    responses={200: page_schema("campaigns", CAMPAIGN_SCHEMA), 422: None},
    query={
        "state": "draft, scheduled, running, paused, completed or canceled",
        "tag": "campaign tag",
        "limit": "1-500",
        "cursor": "next_cursor of the previous page",
    },
)
async def list_campaigns(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, after = page_args(request, default=50)
    state = request.query.get("state") or None
    if state is not None and state not in ("draft", "scheduled", "running", "paused", "completed", "canceled"):
        raise InvalidInput("state", "draft, scheduled, running, paused, completed or canceled")
    page = await store.list_page(
        request.app[keys.DB], after_id=after, limit=limit, state=state, tag=request.query.get("tag")
    )
    return web.json_response(
        {"campaigns": [campaign_json(c) for c in page], "next_cursor": next_cursor(page, limit, lambda c: c.id)}
    )


@routes.post("/api/v1/campaigns")
@describe(
    "Create a draft campaign (unknown template variables reported)",
    tag="campaigns",
    scope="send",
    body=CampaignBody,
    responses={201: CAMPAIGN_SCHEMA, 422: None},
)
async def create_campaign(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, CampaignBody)
    spec = AudienceSpec(
        tuple(body.audience.groups), tuple(body.audience.contacts), tuple(body.audience.numbers), body.audience.file,
        variables_data(body.variables),
    )
    campaign, unknown = await request.app[keys.CAMPAIGNS].create(
        NewCampaign(
            name=body.name,
            templates={str(k): v for k, v in body.templates.items()},
            audience=spec,
            tag=body.tag,
            category=body.category,
            line=body.line,
            created_by=actor(key),
            timing=body.timing.model_dump(exclude_none=True) if body.timing else None,
            transliterate=body.transliterate,
        )
    )
    return web.json_response(campaign_json(campaign, unknown_variables=unknown), status=201)


@routes.put(r"/api/v1/campaigns/{id:\d+}")
@describe(
    "Change a draft campaign (the same body as its creation); 409 once scheduled or launched",
    tag="campaigns",
    scope="send",
    body=CampaignBody,
    responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None, 422: None},
)
async def update_campaign(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    body = await parse_body(request, CampaignBody)
    spec = AudienceSpec(
        tuple(body.audience.groups), tuple(body.audience.contacts), tuple(body.audience.numbers), body.audience.file
    )
    campaign, unknown = await request.app[keys.CAMPAIGNS].update(
        path_id(request),
        NewCampaign(
            name=body.name,
            templates={str(k): v for k, v in body.templates.items()},
            audience=spec,
            tag=body.tag,
            category=body.category,
            line=body.line,
            created_by=actor(key),
            transliterate=body.transliterate,
        ),
    )
    return web.json_response(campaign_json(campaign, unknown_variables=unknown))


@routes.post(r"/api/v1/campaigns/{id:\d+}/text-checks")
@describe(
    "Decide about recipients whose own text has a problem (empty variable, UCS-2, over the segment cap):"
    " default values for the variables and/or leave them out; the preview's text_checks shows them",
    tag="campaigns",
    scope="send",
    body=TextChecksBody,
    responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None, 422: None},
)
async def decide_texts(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, TextChecksBody)
    campaign = await request.app[keys.CAMPAIGNS].decide_texts(path_id(request),
                                                               TextDecision(body.defaults, body.exclude))
    return web.json_response(campaign_json(campaign))


@routes.get(r"/api/v1/campaigns/{id:\d+}")
@describe("One campaign", tag="campaigns", scope="read", responses={200: CAMPAIGN_SCHEMA, 404: None})
async def get_campaign(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return await with_next_sends(request, await request.app[keys.CAMPAIGNS].get(path_id(request)))


@routes.delete(r"/api/v1/campaigns/{id:\d+}")
@describe("Delete a draft", tag="campaigns", scope="send", responses={204: None, 404: None, 409: None})
async def delete_campaign(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    await request.app[keys.CAMPAIGNS].delete(path_id(request))
    return web.Response(status=204)


@routes.post(r"/api/v1/campaigns/{id:\d+}/preview")
@describe(
    "Preview: first recipients rendered, totals, exclusions, segments, duration",
    tag="campaigns",
    scope="read",
    responses={200: S.CAMPAIGN_PREVIEW, 404: None},
)
async def preview_campaign(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(await preview(request.app[keys.CAMPAIGNS], path_id(request)))


@routes.post(r"/api/v1/campaigns/{id:\d+}/schedule")
@describe(
    "Send now, or at send_at (RFC 3339 with offset)",
    tag="campaigns",
    scope="send",
    body=ScheduleBody,
    responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None, 422: None},
)
async def schedule(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, ScheduleBody) if request.can_read_body else ScheduleBody.model_validate({})
    when: datetime | None = body.send_at
    campaign = await request.app[keys.CAMPAIGNS].schedule(path_id(request), when)
    return await with_next_sends(request, campaign)


@routes.post(r"/api/v1/campaigns/{id:\d+}/pause")
@describe(
    "Pause a running campaign (its queued messages are taken back)",
    tag="campaigns",
    scope="send",
    body=PauseBody,
    responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None},
)
async def pause(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, PauseBody) if request.can_read_body else PauseBody.model_validate({})
    return web.json_response(campaign_json(await request.app[keys.CAMPAIGNS].pause(path_id(request), body.reason)))


@routes.post(r"/api/v1/campaigns/{id:\d+}/resume")
@describe(
    "Resume a paused campaign", tag="campaigns", scope="send", responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None}
)
async def resume(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    return web.json_response(campaign_json(await request.app[keys.CAMPAIGNS].resume(path_id(request))))


@routes.post(r"/api/v1/campaigns/{id:\d+}/cancel")
@describe("Cancel a campaign", tag="campaigns", scope="send", responses={200: CAMPAIGN_SCHEMA, 404: None, 409: None})
async def cancel(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    return web.json_response(campaign_json(await request.app[keys.CAMPAIGNS].cancel(path_id(request))))


@routes.post(r"/api/v1/campaigns/{id:\d+}/refresh")
@describe(
    "Add new members of the campaign's groups as recipients (nobody twice)",
    tag="campaigns",
    scope="send",
    responses={
        200: {"type": "object", "properties": {"added": {"type": "integer"}, "campaign": CAMPAIGN_SCHEMA}},
        404: None,
        409: None,
    },
)
async def refresh(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    result = await request.app[keys.CAMPAIGNS].refresh(path_id(request))
    return web.json_response({"added": result["added"], "campaign": campaign_json(result["campaign"])})


@routes.get(r"/api/v1/campaigns/{id:\d+}/stats")
@describe(
    "Progress and outcome of one campaign", tag="campaigns", scope="read", responses={200: STATS_SCHEMA, 404: None}
)
async def stats(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(await campaign_stats(request.app[keys.CAMPAIGNS], path_id(request)))


_N = {"type": ["string", "null"]}
RECIPIENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "recipient_id": {"type": "integer"},
        "number": {"type": "string", "description": "E.164"},
        "source": {"type": "string", "enum": ["group", "contact", "number", "file"]},
        "contact_id": {"type": ["integer", "null"]},
        "last_name": _N,
        "first_name": _N,
        "outcome": {"type": "string", "enum": list(OUTCOMES)},
        "message_id": {"type": ["integer", "null"]},
        "line": _N,
        "segments": {"type": ["integer", "null"]},
        "error": {**_N, "description": "why the message failed or ended in doubt"},
        "submitted_at": {**_N, "format": "date-time"},
        "sent_at": {**_N, "format": "date-time"},
        "delivered_at": {**_N, "format": "date-time"},
        "replied": {"type": "boolean", "description": "answered within campaigns.attribution_hours"},
        "opted_out": {"type": "boolean", "description": "texted STOP within campaigns.attribution_hours"},
    },
}


def recipient_json(line: ReportLine) -> dict[str, Any]:
    r = line.recipient
    return {"recipient_id": r.id, "number": r.number, "source": r.source, "contact_id": r.contact_id,
            "last_name": r.last_name, "first_name": r.first_name, "outcome": line.outcome,
            "message_id": r.message_id, "line": r.line, "segments": r.segments, "error": line.detail,
            "submitted_at": utc_iso(r.submitted_at), "sent_at": utc_iso(r.sent_at),
            "delivered_at": utc_iso(r.delivered_at), "replied": line.replied, "opted_out": line.opted_out}


@routes.get(r"/api/v1/campaigns/{id:\d+}/recipients")
@describe(
    "What became of each recipient of a campaign, in recipient order",
    tag="campaigns",
    scope="read",
    responses={200: page_schema("recipients", RECIPIENT_SCHEMA), 404: None, 422: None},
    query={
        "outcome": f"only these outcomes (repeat or separate with commas): {', '.join(OUTCOMES)}, or not_reached"
                   " (failed, expired, unknown, blocked)",
        "limit": "1-500",
        "cursor": "next_cursor of the previous page",
    },
)
async def recipients(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    campaigns = request.app[keys.CAMPAIGNS]
    campaign = await campaigns.get(path_id(request))
    limit, after = page_args(request, default=100)
    report = CampaignReport(request.app[keys.DB], campaign.id, campaigns.settings.campaigns.attribution_hours,
                            parse_outcomes(request.query.getall("outcome", [])))
    page = await report.page(after or 0, limit)
    return web.json_response({"recipients": [recipient_json(x) for x in page],
                              "next_cursor": next_cursor(page, limit, lambda x: x.recipient.id)})


@routes.get("/api/v1/campaign-tags")
@describe(
    "Campaign tags in use",
    tag="campaigns",
    scope="read",
    responses={
        200: {
            "type": "object",
            "properties": {"tags": {"type": "array", "items": {"type": "string"}}, "next_cursor": {"type": "null"}},
        }
    },
)
async def tags(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response({"tags": await store.tags(request.app[keys.DB]), "next_cursor": None})


@routes.get("/api/v1/campaign-tags/{tag}/stats")
@describe("Outcome of every campaign with a tag, summed", tag="campaigns", scope="read", responses={200: STATS_SCHEMA})
async def stats_by_tag(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(await tag_stats(request.app[keys.CAMPAIGNS], request.match_info["tag"]))


VARIABLES_SCHEMA = {"type": "object", "properties": {
    "variables": {"type": "array", "items": {"type": "string"}},
    "sources": {"type": "array", "items": {"type": "object"}},
    "proposed": {"type": "object"}, "mapping": {"type": "object"}, "unknown_variables": {"type": "object"}}}


@routes.get(r"/api/v1/campaigns/{id:\d+}/variables")
@describe(
    "The variables ↔ columns step: template variables, recipient columns, a proposal and the kept mapping",
    tag="campaigns",
    scope="read",
    responses={200: VARIABLES_SCHEMA, 404: None},
)
async def get_variables(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    return web.json_response(await request.app[keys.CAMPAIGNS].variables_step(path_id(request)))


@routes.put(r"/api/v1/campaigns/{id:\d+}/variables")
@describe(
    "Map the templates' variables to columns, with default values (draft or scheduled campaigns)",
    tag="campaigns",
    scope="send",
    body=VariablesBody,
    responses={200: VARIABLES_SCHEMA, 404: None, 409: None, 422: None},
)
async def put_variables(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    body = await parse_body(request, VariablesBody)
    step = await request.app[keys.CAMPAIGNS].set_variables(path_id(request), variables_data(body.variables))
    return web.json_response(step)

"""Alerts, the e-mail test and the balance check over the API (thin: the services decide)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.inbound import limit_arg, path_id
from gatewayd.api.openapi import describe
from gatewayd.alerts.texts import describe as words
from gatewayd.clock import utc_iso
from gatewayd.email.sender import send_test
from gatewayd.errors import NotFound
from gatewayd.store import alerts as store

routes = web.RouteTableDef()


class AlertOut(BaseModel):
    id: int
    kind: str
    subject: str
    state: str = Field(description="open | resolved")
    text: str = Field(description="what the alert says, in the box's language")
    params: dict[str, Any]
    opened_at: str
    resolved_at: str | None
    reminders: int
    acknowledged_at: str | None
    acknowledged_by: str | None


class AlertList(BaseModel):
    alerts: list[AlertOut]
    unacknowledged: int


def alert_json(alert: store.Alert, language: str) -> dict[str, Any]:
    phase = "resolved" if alert.state == "resolved" and alert.kind not in ("campaign_paused", "campaign_completed") \
        else "opened"
    return {"id": alert.id, "kind": alert.kind, "subject": alert.subject, "state": alert.state,
            "text": words(alert.kind, alert.params, language, phase).text, "params": alert.params,
            "opened_at": utc_iso(alert.opened_at), "resolved_at": utc_iso(alert.resolved_at),
            "reminders": alert.reminders, "acknowledged_at": utc_iso(alert.acknowledged_at),
            "acknowledged_by": alert.acknowledged_by}


@routes.get("/api/v1/alerts")
@describe("Latest alerts (incidents of the box: lines, storage, campaigns, disk, balance)", tag="operations",
          scope="read", responses={200: AlertList, 422: None}, query={"limit": "at most this many (default 50, max 500)"})
async def list_alerts(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit = limit_arg(request, 50)
    app = request.app
    language = app[keys.SETTINGS].site.language
    rows = await store.recent(app[keys.DB], limit=limit)
    count, _ = await app[keys.ALERTS].unacknowledged(limit=1)
    return web.json_response({"alerts": [alert_json(a, language) for a in rows], "unacknowledged": count})


@routes.post(r"/api/v1/alerts/{id:\d+}/acknowledge")
@describe("Mark an alert as seen", tag="operations", scope="admin",
          responses={200: {"type": "object", "properties": {"acknowledged": {"type": "integer"}}}, 404: None})
async def acknowledge(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")
    alert_id = path_id(request)  # 404 past SQLite's integers, like every id
    changed = await request.app[keys.ALERTS].acknowledge(f"api key {key.name}", alert_id)
    return web.json_response({"acknowledged": changed})


class TestEmailBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str = Field(max_length=254, description="the address to send the test e-mail to")


@routes.post("/api/v1/email/test")
@describe("Send a test e-mail now through the configured SMTP server", tag="operations", scope="admin",
          body=TestEmailBody, responses={200: {"type": "object", "properties": {"sent": {"type": "boolean"}}},
                                         422: None, 503: "the server did not take it (the reason is given)"})
async def test_email(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    body = await parse_body(request, TestEmailBody)
    await send_test(request.app[keys.EMAIL], body.to, request.app[keys.SETTINGS].site.language)
    return web.json_response({"sent": True})


class BalanceOut(BaseModel):
    line: str
    checked_at: str
    code: str
    answer: str | None
    amount: float | None = Field(description="euros, when the answer could be read")
    error: str | None


@routes.post("/api/v1/modems/{name}/balance")
@describe("Check a line's prepaid balance now (the USSD code of its [[sim_checks]] entry)", tag="modems",
          scope="admin", responses={200: BalanceOut, 404: None})
async def check_balance(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    line = request.match_info["name"]
    care = request.app[keys.SIM_CARE]
    check = care.checks.get(line)
    if check is None or not check.balance_code or care.pool is None:
        raise NotFound(f"no balance check is configured for line {line!r} ([[sim_checks]] balance_code)")
    result = await care.check_balance(line)
    return web.json_response({"line": result.line, "checked_at": utc_iso(result.checked_at), "code": result.code,
                              "answer": result.answer, "amount": result.amount, "error": result.error})

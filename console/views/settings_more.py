"""Settings (admin): webhooks and their delivery log, auto-replies, and the file-configured rules
(quiet hours, STOP keywords and confirmation texts) shown as they are in force."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web
from console.forms import (
    actor,
    checked,
    cursor_int,
    encode_cursor,
    path_id,
    text,
    texts,
)
from console.render import field_errors, redirect, render
from console.routing import Pages
from pydantic import ValidationError

from gatewayd import keys
from gatewayd.api.body import validation_problem
from gatewayd.api.webhooks import EndpointBody
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.outbound import webhook_actions
from gatewayd.outbound.webhooks import check_target, new_secret
from gatewayd.store import webhooks as hook_store

pages = Pages()
LOG_PAGE = 50


def _endpoints_changed(app: web.Application) -> None:
    if keys.DISPATCHER in app:
        app[keys.DISPATCHER].endpoints_changed(True)


async def _hooks_page(request: web.Request, errors: dict[str, str], created: Any = None,
                      values: dict[str, Any] | None = None, status: int = 200) -> web.Response:
    db = request.app[keys.DB]
    endpoint_id = request.query.get("endpoint")
    before = cursor_int(request)
    log = await hook_store.deliveries(db, endpoint_id=int(endpoint_id) if endpoint_id and endpoint_id.isdigit()
                                      else None, limit=LOG_PAGE, before_id=before)
    return await render(request, "settings/webhooks.html", {
        "endpoints": await hook_store.list_endpoints(db), "events": hook_store.EVENT_TYPES, "errors": errors,
        "created": created, "log": log, "values": values or {"url": "", "description": "", "events": ["*"]},
        "next_after": encode_cursor(log[-1].id) if len(log) == LOG_PAGE else None}, status=status)


@pages.get("/settings/webhooks", role="admin", name="settings_webhooks")
async def webhooks(request: web.Request) -> web.Response:
    return await _hooks_page(request, {})


@pages.post("/settings/webhooks", role="admin")
async def add_webhook(request: web.Request) -> web.Response:
    """Add an endpoint; its signing secret is shown on this answer only."""
    form = await request.post()
    values = {"url": text(form, "url", 2000).strip(), "description": text(form, "description", 200),
              "events": texts(form, "events", 40) or ["*"]}
    try:
        body = EndpointBody.model_validate(values)
    except ValidationError as exc:
        return await _hooks_page(request, field_errors(validation_problem(exc), request), values=values, status=422)
    try:
        check_target(body.url, allow_local=request.app[keys.SETTINGS].webhooks.allow_local_targets)
    except InvalidInput as exc:
        return await _hooks_page(request, field_errors(exc, request), values=values, status=422)
    endpoint = await hook_store.create_endpoint(request.app[keys.DB], url=body.url, secret=new_secret(),
                                                events=body.events, description=body.description,
                                                now=request.app[keys.CLOCK].now())
    _endpoints_changed(request.app)
    return await _hooks_page(request, {}, created=endpoint, status=201)


@pages.post("/settings/webhooks/{id:\\d+}", role="admin", name="settings_webhook")
async def change_webhook(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    endpoint_id = path_id(request)
    if text(form, "action", 10) == "delete":
        if not await hook_store.delete_endpoint(request.app[keys.DB], endpoint_id):
            raise NotFound(code="webhook.not_found")
        done = "deleted"
    else:
        changed = await hook_store.update_endpoint(request.app[keys.DB], endpoint_id, request.app[keys.CLOCK].now(),
                                                   enabled=checked(form, "enabled"))
        if changed is None:
            raise NotFound(code="webhook.not_found")
        done = "saved"
    _endpoints_changed(request.app)
    raise redirect(request, "/settings/webhooks", done)


def _wake_sender(app: web.Application) -> Callable[[], None]:
    sender = app.get(keys.WEBHOOKS)
    return sender.wake if sender is not None else (lambda: None)


@pages.post("/settings/webhooks/{id:\\d+}/test", role="admin", name="settings_webhook_test")
async def test_webhook(request: web.Request) -> web.StreamResponse:
    """Send the endpoint a signed test event (rules: gatewayd.outbound.webhook_actions)."""
    await request.post()
    await webhook_actions.send_test(request.app[keys.DB], request.app[keys.CLOCK], path_id(request),
                                    actor(request), _wake_sender(request.app))
    raise redirect(request, f"/settings/webhooks?endpoint={path_id(request)}", "webhook_test_queued")


@pages.post("/settings/webhooks/{id:\\d+}/deliveries/{delivery:\\d+}/replay", role="admin",
            name="settings_webhook_replay")
async def replay_webhook(request: web.Request) -> web.StreamResponse:
    """Deliver a logged event again (rules: gatewayd.outbound.webhook_actions)."""
    await request.post()
    await webhook_actions.replay(request.app[keys.DB], request.app[keys.CLOCK], path_id(request),
                                 path_id(request, "delivery"), _wake_sender(request.app))
    raise redirect(request, f"/settings/webhooks?endpoint={path_id(request)}", "webhook_replayed")


async def _rules_page(request: web.Request, errors: dict[str, str], values: dict[str, Any] | None = None,
                      status: int = 200) -> web.Response:
    return await render(request, "settings/auto_replies.html", {
        "rules": await request.app[keys.INBOUND].rules.all(), "errors": errors,
        "values": values or {"keyword": "", "reply": "", "line": ""},
        "lines": request.app[keys.POOL].names(),
        "max_segments": request.app[keys.SETTINGS].sending.max_segments,
        "inbound": request.app[keys.SETTINGS].inbound}, status=status)


@pages.get("/settings/auto-replies", role="admin", name="settings_auto_replies")
async def auto_replies(request: web.Request) -> web.Response:
    return await _rules_page(request, {})


@pages.post("/settings/auto-replies", role="admin")
async def add_rule(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"keyword": text(form, "keyword", 40), "reply": text(form, "reply", 2000), "line": text(form, "line", 32)}
    try:
        await request.app[keys.INBOUND].rules.create(keyword=values["keyword"], reply=values["reply"],
                                                     line=values["line"] or None)
    except (InvalidInput, Conflict) as exc:
        errors = field_errors(exc, request)
        return await _rules_page(request, errors, values, 422)
    raise redirect(request, "/settings/auto-replies", "created")


@pages.post("/settings/auto-replies/{id:\\d+}", role="admin", name="settings_auto_reply")
async def change_rule(request: web.Request) -> web.StreamResponse:
    rules = request.app[keys.INBOUND].rules
    rule = await rules.get(path_id(request))
    form = await request.post()
    if text(form, "action", 10) == "delete":
        await rules.delete(rule.id)
        raise redirect(request, "/settings/auto-replies", "deleted")
    try:
        await rules.update(rule.id, keyword=text(form, "keyword", 40) or rule.keyword,
                           reply=text(form, "reply", 2000) or rule.reply, line=rule.line,
                           enabled=checked(form, "enabled"))
    except (InvalidInput, Conflict) as exc:
        return await _rules_page(request, field_errors(exc, request), status=422)
    raise redirect(request, "/settings/auto-replies", "saved")


# ------------------------------------------------------------------ settings changed while running

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


async def _live_page(request: web.Request, section: str, errors: dict[str, str], values: dict[str, Any] | None = None,
                     *, status: int = 200) -> web.Response:
    live = request.app[keys.LIVE_SETTINGS]
    settings = live.settings
    shown = values if values is not None else getattr(settings, section).model_dump(mode="json")
    template = "settings/quiet_hours.html" if section == "quiet_hours" else "settings/stop_words.html"
    return await render(request, template, {
        "v": shown, "errors": errors, "changed": live.changed(section), "outbound": settings.outbound,
        "o": settings.optout, "mention": settings.campaigns.mention(),
        "max_segments": settings.sending.max_segments, "week": WEEK}, status=status)


async def _change_live(request: web.Request, section: str, values: dict[str, Any]) -> web.StreamResponse:
    form = await request.post()
    live = request.app[keys.LIVE_SETTINGS]
    try:
        if text(form, "action", 10) == "reset":
            await live.reset(section, by=actor(request))
        else:
            await live.change(section, values, by=actor(request))
    except InvalidInput as exc:
        errors = field_errors(exc, request)
        if section in errors:  # a rule across fields (the window, the two word lists)
            errors[""] = errors.pop(section)
        return await _live_page(request, section, errors, values, status=422)
    raise redirect(request, str(request.rel_url.path), "saved")


def _words(value: str) -> list[str]:
    """One keyword or phrase per line (commas also separate)."""
    return [w.strip() for line in value.splitlines() for w in line.split(",") if w.strip()]


@pages.get("/settings/quiet-hours", role="admin", name="settings_quiet_hours")
async def quiet_hours(request: web.Request) -> web.Response:
    return await _live_page(request, "quiet_hours", {})


@pages.post("/settings/quiet-hours", role="admin")
async def change_quiet_hours(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"enabled": checked(form, "enabled"), "days": [d for d in WEEK if d in form.getall("days", [])],
              "send_from": text(form, "send_from", 8), "send_until": text(form, "send_until", 8),
              "holidays": checked(form, "holidays"), "country": text(form, "country", 3).strip().upper(),
              "subdivision": text(form, "subdivision", 10).strip().upper()}
    return await _change_live(request, "quiet_hours", values)


@pages.get("/settings/stop-words", role="admin", name="settings_stop_words")
async def stop_words(request: web.Request) -> web.Response:
    return await _live_page(request, "optout", {})


@pages.post("/settings/stop-words", role="admin")
async def change_stop_words(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"stop_words": _words(text(form, "stop_words", 4000)), "start_words": _words(text(form, "start_words", 4000)),
              "ignore_words": _words(text(form, "ignore_words", 4000)),
              "confirm_text": text(form, "confirm_text", 2000).strip(),
              "resubscribe_text": text(form, "resubscribe_text", 2000).strip()}
    return await _change_live(request, "optout", values)

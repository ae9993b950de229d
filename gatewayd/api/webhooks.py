"""/api/v1/webhooks (admin scope): endpoints that receive signed event POSTs, and their delivery log.

Signing and headers: gatewayd.outbound.webhooks (Standard Webhooks: webhook-signature = v1,<base64
HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>">, secret whsec_…, shown once at creation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator

from gatewayd import keys
from gatewayd.api import schemas as S
from gatewayd.api.auth import require_scope
from gatewayd.api.body import parse_body
from gatewayd.api.paging import next_cursor, page_args, path_id
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.errors import NotFound
from gatewayd.outbound import webhook_actions as actions
from gatewayd.outbound.webhooks import check_target, new_secret
from gatewayd.store import webhooks as store

routes = web.RouteTableDef()


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("an absolute http:// or https:// URL is needed")
    return value


def _events(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("at least one event type, or '*'")
    for event in value:
        if event != "*" and event not in store.EVENT_TYPES:
            raise ValueError(f"unknown event {event!r} (known: {', '.join(store.EVENT_TYPES)}, or '*')")
    return ["*"] if "*" in value else sorted(set(value))


class EndpointBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(max_length=2000)
    events: list[str] = Field(["*"], max_length=20, description="event types, or ['*'] for all")
    description: str = Field("", max_length=200)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str]) -> list[str]:
        return _events(value)


class EndpointPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = Field(None, max_length=20)
    description: str | None = Field(None, max_length=200)
    enabled: bool | None = None
    rotate_secret: bool = False

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        return None if value is None else _url(value)

    @field_validator("events")
    @classmethod
    def _check_events(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _events(value)


class EndpointOut(BaseModel):
    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: str
    updated_at: str | None = None
    format: str = Field("gatewayd", description="the envelope it receives: gatewayd's, or 'android' (registered "
                                                "through /3rdparty/v1/webhooks, SMS Gateway for Android's shape)")
    secret: str | None = Field(None, description="only when created or rotated: keep it, it is not shown again")


def endpoint_json(e: store.Endpoint, *, secret: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"id": e.id, "url": e.url, "events": list(e.events), "description": e.description,
                           "enabled": e.enabled, "created_at": utc_iso(e.created_at), "updated_at": utc_iso(e.updated_at),
                           "format": e.format}
    if secret:
        out["secret"] = e.secret
    return out


def endpoints_changed(app: web.Application) -> None:
    """Tell the dispatcher an endpoint may listen now (it skips building events when none does)."""
    if keys.DISPATCHER in app:
        app[keys.DISPATCHER].endpoints_changed(True)


@routes.get("/api/v1/webhooks")
@describe("Webhook endpoints", tag="webhooks", scope="admin", responses={200: S.page("webhooks", S.ref("EndpointOut"))})
async def list_endpoints(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    endpoints = await store.list_endpoints(request.app[keys.DB])
    return web.json_response({"webhooks": [endpoint_json(e) for e in endpoints], "next_cursor": None})


@routes.post("/api/v1/webhooks")
@describe("Add a webhook endpoint (its signing secret is in this answer only)", tag="webhooks", scope="admin",
          body=EndpointBody, responses={201: EndpointOut, 422: None})
async def create_endpoint(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    body = await parse_body(request, EndpointBody)
    check_target(body.url, allow_local=request.app[keys.SETTINGS].webhooks.allow_local_targets)
    endpoint = await store.create_endpoint(request.app[keys.DB], url=body.url, secret=new_secret(),
                                           events=body.events, description=body.description,
                                           now=request.app[keys.CLOCK].now())
    endpoints_changed(request.app)
    return web.json_response(endpoint_json(endpoint, secret=True), status=201)


@routes.get(r"/api/v1/webhooks/{id:\d+}")
@describe("One webhook endpoint", tag="webhooks", scope="admin", responses={200: EndpointOut, 404: None})
async def get_endpoint(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    endpoint = await store.get_endpoint(request.app[keys.DB], path_id(request))
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {request.match_info['id']}")
    return web.json_response(endpoint_json(endpoint))


@routes.patch(r"/api/v1/webhooks/{id:\d+}")
@describe("Change, disable or rotate the secret of an endpoint", tag="webhooks", scope="admin",
          body=EndpointPatch, responses={200: EndpointOut, 404: None, 422: None})
async def patch_endpoint(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    body = await parse_body(request, EndpointPatch)
    if body.url is not None:
        check_target(body.url, allow_local=request.app[keys.SETTINGS].webhooks.allow_local_targets)
    secret = new_secret() if body.rotate_secret else None
    endpoint = await store.update_endpoint(request.app[keys.DB], path_id(request), request.app[keys.CLOCK].now(),
                                           url=body.url, events=body.events, description=body.description,
                                           enabled=body.enabled, secret=secret)
    if endpoint is None:
        raise NotFound(f"no webhook endpoint {request.match_info['id']}")
    endpoints_changed(request.app)
    return web.json_response(endpoint_json(endpoint, secret=secret is not None))


@routes.delete(r"/api/v1/webhooks/{id:\d+}")
@describe("Remove an endpoint (and its pending deliveries)", tag="webhooks", scope="admin",
          responses={204: None, 404: None})
async def delete_endpoint(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    if not await store.delete_endpoint(request.app[keys.DB], path_id(request)):
        raise NotFound(f"no webhook endpoint {request.match_info['id']}")
    return web.Response(status=204)


@routes.get(r"/api/v1/webhooks/{id:\d+}/deliveries")
@describe("Delivery log of an endpoint, newest first (with every attempt)", tag="webhooks", scope="admin",
          responses={200: S.page("deliveries", S.ref("WebhookDelivery")), 404: None},
          query={"limit": "1-500 (default 100)", "cursor": "next_cursor of the previous page"})
async def deliveries(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    db = request.app[keys.DB]
    endpoint_id = path_id(request)
    if await store.get_endpoint(db, endpoint_id) is None:
        raise NotFound(f"no webhook endpoint {endpoint_id}")
    limit, before = page_args(request)
    page = await store.deliveries(db, endpoint_id=endpoint_id, limit=limit, before_id=before)
    out = []
    for d in page:
        tries = await store.attempts(db, d.id)
        out.append({"id": d.id, "event_id": d.event_id, "webhook_id": d.event_uid, "event": d.event_type, "state": d.state,
                    "attempts": d.attempts, "next_at": utc_iso(d.next_at) if d.state == "pending" else None,
                    "last_status": d.last_status, "last_error": d.last_error, "created_at": utc_iso(d.created_at),
                    "finished_at": utc_iso(d.finished_at),
                    "log": [{"attempt": a.attempt, "at": utc_iso(a.at), "status": a.status, "error": a.error,
                             "duration_ms": a.duration_ms} for a in tries]})
    return web.json_response({"deliveries": out, "next_cursor": next_cursor(page, limit, lambda d: d.id)})


DELIVERY_QUEUED = {"type": "object", "required": ["delivery_id"], "additionalProperties": False,
                   "properties": {"delivery_id": {"type": "integer", "description": "see GET …/deliveries"}}}


def _wake(request: web.Request) -> Callable[[], None]:
    sender = request.app.get(keys.WEBHOOKS)
    return sender.wake if sender is not None else (lambda: None)


@routes.post(r"/api/v1/webhooks/{id:\d+}/test")
@describe("Send the endpoint a signed test event (`webhook.test`), delivered and logged like any event",
          tag="webhooks", scope="admin", responses={202: DELIVERY_QUEUED, 404: None, 409: None})
async def send_test_event(request: web.Request) -> web.Response:
    key = await require_scope(request, "admin")
    delivery_id = await actions.send_test(request.app[keys.DB], request.app[keys.CLOCK], path_id(request),
                                          f"api key {key.name}", _wake(request))
    return web.json_response({"delivery_id": delivery_id}, status=202)


@routes.post(r"/api/v1/webhooks/{id:\d+}/deliveries/{delivery_id:\d+}/replay")
@describe("Deliver a logged event again (a new delivery, same webhook-id); 409 while it is still being tried",
          tag="webhooks", scope="admin", responses={202: DELIVERY_QUEUED, 404: None, 409: None})
async def replay_delivery(request: web.Request) -> web.Response:
    await require_scope(request, "admin")
    delivery_id = await actions.replay(request.app[keys.DB], request.app[keys.CLOCK], path_id(request),
                                       path_id(request, "delivery_id"), _wake(request))
    return web.json_response({"delivery_id": delivery_id}, status=202)

"""SMS Gateway for Android's third-party API under /3rdparty/v1, for its Python and JavaScript clients.

Authentication: HTTP Basic with the API key's name as the user and the key as the password, or
`Authorization: Bearer <key>`. Mapping (README has the full table):
- POST /messages: `phoneNumbers`, `textMessage.text` (or the legacy `message`) -> a Draft (literal
  text); `id` -> the idempotency key and the name GET /messages/{id} answers to; `priority`
  (-128..127, higher first) -> the ledger's order; `ttl` / `validUntil` -> the TTL; `simNumber` ->
  the N-th line. `dataMessage`, `mmsMessage` and `isEncrypted: true` are refused (text SMS only).
  `withDeliveryReport` is accepted; reports are always asked for.
- GET /messages/{id}: per-recipient states in that API's words (STATES below).
- GET /inbox, GET /health; GET/POST/DELETE /webhooks: endpoints registered here receive that API's
  envelope and X-Signature (AndroidEnvelope), through gatewayd's persisted webhook outbox.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import aiosqlite
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gatewayd import __version__, keys
from gatewayd.api.auth import authenticate, authenticate_token, check_scope
from gatewayd.api.body import read_json, validation_problem
from gatewayd.api.inbound import time_arg
from gatewayd.api.messages import recipients as parse_numbers
from gatewayd.api.webhooks import EndpointBody, endpoints_changed
from gatewayd.clock import utc_iso
from gatewayd.compat import sending
from gatewayd.compat.common import line_by_number, number_of_line, require_enabled
from gatewayd.errors import Conflict, InvalidInput, NotFound, Unauthorized
from gatewayd.outbound.compose import Draft
from gatewayd.outbound.webhooks import check_target
from gatewayd.outbound.model import Category, MessageRow, Receipt
from gatewayd.store import android as batch_store
from gatewayd.store import inbound as inbound_store
from gatewayd.store import webhooks as webhook_store
from gatewayd.store.apikeys import ApiKeyRow
from gatewayd.store.webhooks import DueDelivery

routes = web.RouteTableDef()
SECTION = "android_gateway"
BASE = "/3rdparty/v1"
FORMAT = "android"

# The ledger's states in that API's words. `unknown` (in doubt after a crash, never resent by
# itself) stays Processed: handed to the modem, outcome not known; Failed would invite a resend.
STATES = {"scheduled": "Pending", "queued": "Pending", "sending": "Processed", "unknown": "Processed",
          "sent": "Sent", "delivered": "Delivered", "failed": "Failed", "expired": "Failed", "blocked": "Failed",
          "canceled": "Failed"}
# Its webhook events <-> gatewayd's.
EVENTS = {"sms:received": "inbound.received", "sms:sent": "message.sent", "sms:delivered": "message.delivered",
          "sms:failed": "message.failed"}
EVENT_NAMES = {ours: theirs for theirs, ours in EVENTS.items()}


# ------------------------------------------------------------------ authentication

async def api_key(request: web.Request, scope: str) -> ApiKeyRow:
    """Basic (user = the key's name, password = the key) or Bearer; 401/403 otherwise."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not sep or not password:
            raise Unauthorized("malformed Basic credentials: send the API key's name and the key")
        key = await authenticate_token(request, password)
        if not hmac.compare_digest(user.encode(), key.name.encode()):
            raise Unauthorized("the Basic user must be the API key's name")
        return check_scope(key, scope)
    return check_scope(await authenticate(request), scope)


# ------------------------------------------------------------------ messages

class TextMessage(BaseModel):
    text: str = Field(max_length=10_000)


class SendBody(BaseModel):
    # Fields a newer client adds are ignored (its clients always send every field they know).
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(None, min_length=1, max_length=255)
    message: str | None = Field(None, max_length=10_000)
    textMessage: TextMessage | None = None
    dataMessage: dict[str, Any] | None = None
    mmsMessage: dict[str, Any] | None = None
    phoneNumbers: list[str] = Field(min_length=1, max_length=10_000)
    simNumber: int | None = Field(None, ge=1, le=255)
    withDeliveryReport: bool = True
    isEncrypted: bool = False
    priority: int = Field(0, ge=-128, le=127)
    ttl: int | None = Field(None, ge=1, le=365 * 86400)
    validUntil: datetime | None = None
    deviceId: str | None = Field(None, max_length=64)


def _text(body: SendBody) -> str:
    if body.dataMessage is not None:
        raise InvalidInput("dataMessage", code="message.unsupported", kind="data SMS")
    if body.mmsMessage is not None:
        raise InvalidInput("mmsMessage", code="message.unsupported", kind="MMS")
    if body.isEncrypted:
        raise InvalidInput("isEncrypted", code="message.unsupported", kind="encrypted")
    if body.textMessage is not None and body.message is not None:
        raise InvalidInput("message", "give textMessage.text or message, not both")
    if body.textMessage is not None:
        return body.textMessage.text
    if body.message is None:
        raise InvalidInput("textMessage.text", code="text.required")
    return body.message


def _ttl(body: SendBody, now: datetime) -> timedelta | None:
    if body.ttl is not None and body.validUntil is not None:
        raise InvalidInput("validUntil", code="ttl.conflict")
    if body.ttl is not None:
        return timedelta(seconds=body.ttl)
    if body.validUntil is not None:
        until = body.validUntil if body.validUntil.tzinfo else body.validUntil.replace(tzinfo=now.tzinfo)
        if until <= now:
            raise InvalidInput("validUntil", code="valid_until.past", at=utc_iso(until))
        return until - now
    return None


def _overall(states: list[str]) -> str:
    """That API's rule for a send to several recipients."""
    if "Pending" in states:
        return "Pending"
    if "Processed" in states:
        return "Processed"
    if all(s == "Delivered" for s in states):
        return "Delivered"
    if all(s == "Failed" for s in states):
        return "Failed"
    return "Sent"


def message_state(app: web.Application, external_id: str, recipients: list[dict[str, Any]],
                  times: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": external_id, "deviceId": app[keys.SETTINGS].android_gateway.device_id,
            "state": _overall([r["state"] for r in recipients]), "isHashed": False, "isEncrypted": False,
            "recipients": recipients, "states": times or {}}


@routes.post(BASE + "/messages")
@routes.post(BASE + "/message")  # the JavaScript client (3.x) says /message
async def send(request: web.Request) -> web.Response:
    """202 with the send's state; a repeated `id` with the same body answers the first send again."""
    app = request.app
    require_enabled(app, SECTION)
    key = await api_key(request, "send")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    try:
        body = SendBody.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    text = _text(body)
    now = app[keys.CLOCK].now()
    settings = app[keys.SETTINGS]
    numbers = parse_numbers(body.phoneNumbers, settings.sending.default_region, settings.api.allowed_destinations,
                            settings.api.max_recipients, name="phoneNumbers")
    draft = Draft(recipients=numbers, text=text, category=Category(settings.android_gateway.category),
                  line=line_by_number(app, body.simNumber, "simNumber"), ttl=_ttl(body, now),
                  priority=-body.priority, source="api", api_key_id=key.id,
                  created_by=f"api key {key.name} (SMS Gateway for Android)",
                  field_names={"line": "simNumber", "text": "textMessage.text", "to": "phoneNumbers"})
    external_id = body.id or secrets.token_urlsafe(15)
    once = sending.Once(f"android:{external_id}", data)
    if body.id is not None and await sending.earlier(app, key, once) is None \
            and await batch_store.get_batch(app[keys.DB], key.id, external_id) is not None:
        raise Conflict(f"message id {external_id!r} was already used")  # older than the idempotency window

    async def name_it(conn: aiosqlite.Connection, receipt: Receipt) -> None:
        await batch_store.insert_batch(conn, api_key_id=key.id, external_id=external_id, message_ids=receipt.ids,
                                       now=now)

    accepted = await sending.submit(app, key, draft, once=once, also=name_it, request=request)
    recipients = [_recipient(to, state, "recipient opted out" if state == "blocked" else None)
                  for _, to, state in accepted.messages]
    return web.json_response(message_state(app, external_id, recipients, {"Pending": utc_iso(now)}), status=202,
                             headers={"Idempotent-Replayed": "true"} if accepted.replayed else None)


def _recipient(to: str, state: str, error: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"phoneNumber": to, "state": STATES.get(state, "Pending")}
    if error and out["state"] == "Failed":
        out["error"] = error
    return out


def _times(rows: list[MessageRow]) -> dict[str, str]:
    """When the send reached each state (the last recipient to reach it)."""
    out: dict[str, str] = {"Pending": utc_iso(min(r.created_at for r in rows))}
    for name, attr in (("Sent", "sent_at"), ("Delivered", "delivered_at")):
        stamps = [getattr(r, attr) for r in rows]
        if stamps and all(stamps):
            out[name] = utc_iso(max(stamps))
    failed = [r.finished_at for r in rows if STATES.get(r.state) == "Failed" and r.finished_at]
    if failed:
        out["Failed"] = utc_iso(max(failed))
    return out


@routes.get(BASE + "/messages/{id}")
@routes.get(BASE + "/message/{id}")
async def get_message(request: web.Request) -> web.Response:
    app = request.app
    require_enabled(app, SECTION)
    key = await api_key(request, "read")
    external_id = request.match_info["id"]
    batch = await batch_store.get_batch(app[keys.DB], key.id, external_id)
    if batch is None:
        raise NotFound(f"no message {external_id!r}")
    ids = batch.message_ids
    rows = sorted(await app[keys.OUTBOUND].list(limit=len(ids), before_id=ids.stop), key=lambda r: r.id)
    rows = [r for r in rows if r.id in ids]
    recipients = [_recipient(r.to, r.state, r.error) for r in rows]
    return web.json_response(message_state(app, external_id, recipients, _times(rows)))


# ------------------------------------------------------------------ inbox and health

@routes.get(BASE + "/inbox")
async def inbox(request: web.Request) -> web.Response:
    """Received SMS, oldest first (`from`, `to`: RFC 3339; `limit`, `offset`)."""
    app = request.app
    require_enabled(app, SECTION)
    await api_key(request, "read")
    q = request.query
    try:
        limit = min(max(int(q.get("limit") or 50), 1), 500)
        offset = max(int(q.get("offset") or 0), 0)
    except ValueError:
        raise InvalidInput("limit", "limit and offset must be integers") from None
    if q.get("type") not in (None, "", "SMS"):
        return web.json_response([])  # DATA_SMS, MMS: never received here
    since, until = time_arg(request, "from"), time_arg(request, "to")
    page = await inbound_store.since(app[keys.DB], received_from=since, limit=min(offset + limit, 10_000))
    out = [{"id": str(m.id), "type": "SMS", "sender": m.sender, "recipient": None,
            "simNumber": number_of_line(app, m.line), "contentPreview": m.text, "createdAt": utc_iso(m.received_at)}
           for m in page[offset:] if until is None or m.received_at <= until]
    return web.json_response(out)


@routes.get(BASE + "/health")
async def health(request: web.Request) -> web.Response:
    """That API's health answer (no authentication, like /healthz): pass, warn or fail."""
    app = request.app
    require_enabled(app, SECTION)
    db_ok = await app[keys.DB].ping()
    statuses = app[keys.MODEM_STATUS]() if keys.MODEM_STATUS in app else []
    ready = sum(1 for s in statuses if s.state.value == "ready")
    lines = "pass" if statuses and ready == len(statuses) else ("warn" if ready else "fail")
    overall = "fail" if not db_ok or lines == "fail" else lines
    checks = {
        "database": {"status": "pass" if db_ok else "fail", "description": "the SQLite ledger answers"},
        "lines:ready": {"status": lines, "description": "lines ready to send", "observedValue": ready,
                        "observedUnit": "lines"},
    }
    return web.json_response({"status": overall, "version": __version__, "releaseId": 1, "checks": checks},
                             status=200 if overall != "fail" else 503)


# ------------------------------------------------------------------ webhooks

class WebhookBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str | None = Field(None, min_length=1, max_length=64)
    url: str = Field(max_length=2000)
    event: str
    deviceId: str | None = Field(None, max_length=64)


def _webhook_json(app: web.Application, e: webhook_store.Endpoint) -> dict[str, Any]:
    return {"id": e.external_id, "url": e.url, "event": EVENT_NAMES.get(e.events[0], e.events[0]),
            "deviceId": app[keys.SETTINGS].android_gateway.device_id}


@routes.get(BASE + "/webhooks")
async def list_webhooks(request: web.Request) -> web.Response:
    app = request.app
    require_enabled(app, SECTION)
    key = await api_key(request, "admin")
    return web.json_response([_webhook_json(app, e)
                              for e in await webhook_store.external_endpoints(app[keys.DB], FORMAT, key.id)])


@routes.post(BASE + "/webhooks")
async def register_webhook(request: web.Request) -> web.Response:
    """Register (or, with a known id, replace) an endpoint for one event."""
    app = request.app
    require_enabled(app, SECTION)
    key = await api_key(request, "admin")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    try:
        body = WebhookBody.model_validate(data)
        ours = EVENTS.get(body.event)
        if ours is None:
            raise InvalidInput("event", f"{body.event!r} is not supported here (supported: {', '.join(EVENTS)})")
        checked = EndpointBody.model_validate({"url": body.url, "events": [ours]})  # gatewayd's webhook rules
        check_target(checked.url, allow_local=app[keys.SETTINGS].webhooks.allow_local_targets)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    signing_key = app[keys.SETTINGS].android_gateway.webhook_signing_key or secrets.token_urlsafe(32)
    endpoint = await webhook_store.create_endpoint(
        app[keys.DB], url=checked.url, secret=signing_key, events=checked.events,
        description=f"SMS Gateway for Android webhook {body.event} (key {key.name})", now=app[keys.CLOCK].now(),
        format=FORMAT, external_id=body.id or secrets.token_urlsafe(15), api_key_id=key.id)
    endpoints_changed(app)
    return web.json_response(_webhook_json(app, endpoint), status=201)


@routes.delete(BASE + "/webhooks/{id}")
async def delete_webhook(request: web.Request) -> web.Response:
    app = request.app
    require_enabled(app, SECTION)
    key = await api_key(request, "admin")
    if not await webhook_store.delete_external(app[keys.DB], FORMAT, key.id, request.match_info["id"]):
        raise NotFound(f"no webhook {request.match_info['id']!r}")
    return web.Response(status=204)


class AndroidEnvelope:
    """The body and headers SMS Gateway for Android's receivers expect, from a stored event:
    {"deviceId", "event", "id", "payload", "webhookId"}, signed X-Signature = hex HMAC-SHA256 of
    the raw body followed by X-Timestamp (Unix seconds), with the endpoint's signing key."""

    def __init__(self, app: web.Application) -> None:
        self.app = app

    async def __call__(self, d: DueDelivery, now: datetime) -> tuple[bytes, dict[str, str]]:
        data = json.loads(d.payload)
        app = self.app
        sim = number_of_line(app, data.get("modem"))
        if d.event_type == "inbound.received":
            payload: dict[str, Any] = {"messageId": str(data["id"]), "message": data["text"],
                                       "phoneNumber": data["from"], "simNumber": sim, "receivedAt": data["received_at"]}
        else:
            external = await batch_store.external_id_of(app[keys.DB], int(data["id"]))
            payload = {"messageId": external or str(data["id"]), "phoneNumber": data["to"], "simNumber": sim}
            if d.event_type == "message.sent":
                payload.update(sentAt=data["at"], partsCount=data.get("segments", 1))
            elif d.event_type == "message.delivered":
                payload["deliveredAt"] = data["at"]
            else:
                payload.update(failedAt=data["at"], reason=data.get("error") or data.get("state", "failed"))
        body = json.dumps({"deviceId": app[keys.SETTINGS].android_gateway.device_id,
                           "event": EVENT_NAMES.get(d.event_type, d.event_type), "id": d.event_uid or str(d.event_id),
                           "payload": payload, "webhookId": d.external_id},
                          ensure_ascii=False, separators=(",", ":")).encode()
        stamp = str(int(now.timestamp()))
        signature = hmac.new(d.secret.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
        return body, {"Content-Type": "application/json", "X-Signature": signature, "X-Timestamp": stamp}

"""/api/v1/messages: send (one recipient or up to 10,000), read, list, cancel, resend.

A 202 means the messages are committed. `Idempotency-Key`: the same key and body within 24 h get
the same answer (nothing is sent twice); the same key with another body gets 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, ValidationError

from gatewayd import keys
from gatewayd.api.auth import require_scope
from gatewayd.api.body import read_json, validation_problem
from gatewayd.api.paging import next_cursor, page_args, path_id
from gatewayd.api.openapi import describe
from gatewayd.clock import utc_iso
from gatewayd.errors import Conflict, FieldError, InvalidInput, field_error
from gatewayd.outbound.compose import Draft
from gatewayd.outbound.model import Category, MessageDetail, MessageRow, MessageState, Receipt
from gatewayd.phone import InvalidNumber, in_destinations, normalise

routes = web.RouteTableDef()
MAX_FIELD_ERRORS = 20


class SendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | list[str] = Field(description="One number, or a list (deduplicated); national numbers use "
                                            "[sending] default_region")
    text: str | None = Field(None, description="The SMS text (GSM-7 or Unicode; long texts are split into "
                                                "segments). Sent literally unless `variables` or `template` is given")
    template: int | None = Field(None, ge=1, description="A template's id: its text (and line) instead of `text`; "
                                                        "switches personalisation on")
    variables: dict[str, str] | None = Field(
        None, max_length=100, description="Values for {name} in the text, the same for every recipient; switches "
                                          "personalisation on (the recipient's contact record fills the rest)")
    transliterate: StrictBool | None = Field(None, description="Replace characters outside GSM-7 by look-alikes "
                                                         "(default: the site's [sending] transliterate)")
    category: Literal["transactional", "marketing"] = Field(
        description="marketing waits for the quiet-hours window and is blocked by any opt-out")
    send_at: AwareDatetime | None = Field(None, description="RFC 3339 time to send at (default: now)")
    modem: str | None = Field(None, max_length=32, description="Line to send on (default: the dispatcher chooses)")
    ttl: int | None = Field(None, ge=60, le=30 * 86400, description="Seconds after which an unsent message expires")
    client_ref: str | None = Field(None, min_length=1, max_length=128,
                                   description="Your own reference for this send: stored with each message, "
                                               "returned with it and echoed in every webhook event about it")


class AcceptedMessage(BaseModel):
    id: int
    to: str = Field(description="E.164")
    state: str = Field(description="scheduled, queued, or blocked (opted out)")


class Replaced(BaseModel):
    from_: str = Field(alias="from", description="a character outside the GSM-7 alphabet in the text")
    to: str = Field(description="its GSM-7 look-alike")
    count: int = Field(description="how many times, over all the messages")


class Transliteration(BaseModel):
    replaced: list[Replaced] = Field(description="what the GSM-7 look-alikes changed (empty: nothing, or"
                                                 " transliteration off)")
    segments_saved: int = Field(description="SMS the look-alikes saved over all the messages")


class Accepted(BaseModel):
    messages: list[AcceptedMessage] = Field(description="one per recipient, in request order")
    transliteration: Transliteration


class PartOut(BaseModel):
    seq: int
    state: str
    modem: str
    reference: int | None = Field(None, description="TP-MR the modem returned")
    sent_at: str | None = None
    report_status: int | None = Field(None, description="latest TP-ST of the delivery report")
    report_at: str | None = None
    error: str | None = None


class WaitingOut(BaseModel):
    reason: str = Field(description="scheduled | campaign_paused | retry | quiet_hours (the marketing window) | no_line | line_cap"
                                    " | spacing | cooldown | queue (others are ahead)")
    until: str | None = Field(None, description="when the wait ends, when known (RFC 3339)")
    modem: str | None = Field(None, description="the line concerned, if one")


class MessageOut(BaseModel):
    id: int
    to: str
    text: str
    state: MessageState
    category: Category
    segments: int
    encoding: str
    modem: str | None
    error: str | None = None
    error_code: int | None = None
    reason: dict[str, Any] | None = Field(None, description='why, as a stable code with its params ({"code":'
                                          ' "line.waiting", "params": {"line": "line2", "line_state":'
                                          ' "disconnected"}}); `error` is its English')
    created_at: str
    send_at: str | None = None
    sent_at: str | None = None
    delivered_at: str | None = None
    created_by: str | None = Field(None, description="who asked: 'console <user>' or 'api key <name>'; "
                                                     "null for campaign messages and automatic answers")
    client_ref: str | None = Field(None, description="the client_ref given when it was sent")
    parts: list[PartOut] | None = None
    waiting: WaitingOut | None = Field(None, description="GET /messages/{id} of a scheduled or queued message:"
                                                         " why it has not gone out yet")


class MessageList(BaseModel):
    messages: list[MessageOut]
    next_cursor: str | None


def message_json(m: MessageRow, detail: MessageDetail | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": m.id, "to": m.to, "text": m.text, "state": m.state, "category": m.category, "segments": m.segments,
        "encoding": m.encoding, "modem": m.sent_line or m.line, "priority": m.priority, "source": m.source,
        "attempts": m.attempts, "created_at": utc_iso(m.created_at), "send_at": utc_iso(m.send_at),
        "expires_at": utc_iso(m.expires_at), "sent_at": utc_iso(m.sent_at), "delivered_at": utc_iso(m.delivered_at),
        "finished_at": utc_iso(m.finished_at), "campaign_id": m.campaign_id, "thread_id": m.thread_id,
        "resend_of": m.resend_of, "created_by": m.created_by, "client_ref": m.client_ref,
    }
    if m.error:
        out["error"] = m.error
        out["error_code"] = m.error_code
        if m.reason is not None:  # the same reason as a stable code: switch on it, not on `error`
            out["reason"] = {"code": m.reason.code, "params": dict(m.reason.params)}
    if detail is not None:
        out["parts"] = [{"seq": p.seq, "state": p.state, "modem": p.line, "reference": p.reference,
                         "sent_at": utc_iso(p.sent_at), "report_status": p.report_status,
                         "report_at": utc_iso(p.report_at), "error": p.error} for p in detail.parts]
    return out


def _allowed(number: str, allowed: list[str]) -> bool:
    return in_destinations(number, allowed)


def recipients(raw: str | list[str], region: str, allowed: list[str], limit: int, *, name: str = "to") -> list[str]:
    """E.164 recipients in request order without duplicates; 422 naming every bad entry (`name`:
    the client's name of the field)."""
    single = isinstance(raw, str)
    items = [raw] if isinstance(raw, str) else raw
    if not items:
        raise InvalidInput(name, "at least one recipient is needed")
    if len(items) > limit:
        raise InvalidInput(name, f"{len(items)} recipients; at most {limit} per request")
    out: dict[str, None] = {}
    errors: list[FieldError] = []
    for i, item in enumerate(items):
        field = name if single else f"{name}[{i}]"
        try:
            number = normalise(item, region)
        except InvalidNumber as exc:
            errors.append(field_error(exc.problem, field))
        else:
            if allowed and not _allowed(number, allowed):
                errors.append(FieldError(field, f"{number}: destination not in this gateway's allowed countries"))
            else:
                out[number] = None
        if len(errors) >= MAX_FIELD_ERRORS:
            break
    if errors:
        raise InvalidInput.of(errors)
    return list(out)


# The API's names for the fields of a Draft (problems name the field the client sent).
API_FIELDS = {"line": "modem"}


@routes.post("/api/v1/messages")
@describe("Send SMS to one or many recipients", tag="messages", scope="send", body=SendBody,
          responses={202: Accepted, 400: None, 409: None, 422: None, 429: None},
          headers={"Idempotency-Key": "Same key and body within 24 h: the same answer, nothing sent twice; "
                                      "same key, other body: 409"})
async def send(request: web.Request) -> web.Response:
    """Commit the messages, then answer 202 with their ids and states."""
    key = await require_scope(request, "send")
    app = request.app
    settings, limits, outbound = app[keys.SETTINGS], app[keys.API_LIMITS], app[keys.OUTBOUND]
    limits.check_rate(key.id, into=request)
    data = await read_json(request)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    try:
        body = SendBody.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    idem = request.headers.get("Idempotency-Key")
    request_hash = ""
    if idem is not None:
        if not 1 <= len(idem) <= 255 or not idem.isprintable():
            raise InvalidInput("Idempotency-Key", "1 to 255 printable characters")
        request_hash = hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        earlier = await outbound.idempotent_answer(key.id, idem)
        if earlier is not None:
            return _replay(earlier, request_hash)
    numbers = recipients(body.to, settings.sending.default_region, settings.api.allowed_destinations,
                         settings.api.max_recipients)
    del data  # the raw recipients (request_hash is taken): not held through the insert
    if body.text is None and body.template is None:
        raise InvalidInput("text", code="text.required")
    now = app[keys.CLOCK].now()
    if body.send_at is not None and body.send_at > now + timedelta(days=365):
        raise InvalidInput("send_at", code="send_at.too_far")
    draft = Draft(recipients=numbers, text=body.text or "", template_id=body.template,
                  category=Category(body.category), line=body.modem, send_at=body.send_at,
                  ttl=timedelta(seconds=body.ttl) if body.ttl is not None else None, variables=body.variables,
                  transliterate=body.transliterate, source="api", api_key_id=key.id,
                  created_by=f"api key {key.name}", client_ref=body.client_ref, field_names=API_FIELDS)
    composed = await outbound.compose(draft)
    messages, changed = composed.messages, composed.transliteration()
    del draft, composed
    await limits.reserve(key.id, len(numbers))

    try:
        if idem is None:
            accepted = await outbound.accept(messages)
            return web.Response(text=accepted_json(accepted, changed), status=202, content_type="application/json")
        stored, replayed = await outbound.submit_once(messages, api_key_id=key.id, key=idem,
                                                      request_hash=request_hash,
                                                      answer=lambda receipt: accepted_json(receipt, changed))
    except BaseException:
        limits.release(key.id, len(numbers))
        raise
    if replayed:  # a concurrent twin won the race
        limits.release(key.id, len(numbers))
        return _replay(stored, request_hash)
    return web.Response(text=stored.response, status=stored.status, content_type="application/json")


def accepted_json(receipt: Receipt, transliteration: Mapping[str, Any] | None = None) -> str:
    """The 202 body {"messages": [{"id", "to", "state"}], "transliteration": {"replaced",
    "segments_saved"}} in request order.

    Written as text: `to` is E.164 (the service rejects anything else) and states are plain
    words, so nothing needs escaping; json.dumps over 10,000 dicts held ~5 MB more at once."""
    changed = json.dumps(transliteration or {"replaced": [], "segments_saved": 0}, ensure_ascii=False,
                         separators=(",", ":"))
    return '{"messages":[' + ",".join(
        f'{{"id":{i},"to":"{to}","state":"{state}"}}'
        for i, to, state in zip(receipt.ids, receipt.to, receipt.states, strict=True)) + \
        '],"transliteration":' + changed + "}"


def _replay(earlier: Any, request_hash: str) -> web.Response:
    if earlier.request_hash != request_hash:
        raise Conflict("this Idempotency-Key was already used with a different request body")
    return web.Response(text=earlier.response, status=earlier.status, content_type="application/json",
                        headers={"Idempotent-Replayed": "true"})


@routes.get("/api/v1/messages")
@describe("List messages, newest first", tag="messages", scope="read", responses={200: MessageList, 422: None},
          query={"state": "one of the message states", "to": "recipient (normalised like POST)",
                 "campaign": "campaign id", "thread": "thread id", "limit": "1-500 (default 100)",
                 "cursor": "next_cursor of the previous page"})
async def list_messages(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    limit, before = page_args(request)
    q = request.query
    state = q.get("state") or None
    if state is not None and state not in {s.value for s in MessageState}:
        raise InvalidInput("state", f"one of {', '.join(s.value for s in MessageState)}")
    to = None
    if q.get("to"):
        try:
            to = normalise(q["to"], request.app[keys.SETTINGS].sending.default_region)
        except InvalidNumber as exc:
            raise InvalidInput(problems=[exc.problem.at("to")]) from None
    ints = {}
    for name in ("campaign", "thread"):
        if q.get(name):
            try:
                ints[name] = int(q[name])
            except ValueError:
                raise InvalidInput(name, "must be an integer") from None
    page = await request.app[keys.OUTBOUND].list(limit=limit, before_id=before, state=state, to=to,
                                                 campaign_id=ints.get("campaign"), thread_id=ints.get("thread"))
    return web.json_response({"messages": [message_json(m) for m in page],
                              "next_cursor": next_cursor(page, limit, lambda m: m.id)})


@routes.get(r"/api/v1/messages/{id:\d+}")
@describe("One message with its parts (TP-MR, report status)", tag="messages", scope="read",
          responses={200: MessageOut, 404: None, 422: None})
async def get_message(request: web.Request) -> web.Response:
    await require_scope(request, "read")
    detail = await request.app[keys.OUTBOUND].get(path_id(request))
    body = message_json(detail.message, detail)
    wait = request.app[keys.OUTBOUND].why_waiting(detail.message)
    if wait is not None:
        body["waiting"] = wait.as_json()
    return web.json_response(body)


@routes.post(r"/api/v1/messages/{id:\d+}/cancel")
@describe("Cancel a queued or scheduled message", tag="messages", scope="send",
          responses={200: MessageOut, 404: None, 409: None})
async def cancel_message(request: web.Request) -> web.Response:
    await require_scope(request, "send")
    return web.json_response(message_json(await request.app[keys.OUTBOUND].cancel(path_id(request))))


@routes.post(r"/api/v1/messages/{id:\d+}/complete")
@describe("Send the missing parts of an unknown long message", tag="messages", scope="send",
          description="For a long message left `unknown` by a stop between its parts: the parts on record "
                      "as sent (see `parts`) are not sent again; the others go out on the same line with "
                      "the same concatenation reference, so the phone joins them. The part that was in "
                      "flight at the stop may arrive twice. To send everything again, use resend.",
          responses={202: MessageOut, 404: None, 409: None})
async def complete_message(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    row = await request.app[keys.OUTBOUND].complete(path_id(request), by=f"api key {key.name}")
    return web.json_response(message_json(row), status=202)


@routes.post(r"/api/v1/messages/{id:\d+}/resend")
@describe("Resend an unknown or failed message (as a new message)", tag="messages", scope="send",
          description="An `unknown` message may already have arrived: resending is a deliberate choice.",
          responses={202: MessageOut, 404: None, 409: None})
async def resend_message(request: web.Request) -> web.Response:
    key = await require_scope(request, "send")
    row = await request.app[keys.OUTBOUND].resend(path_id(request), by=f"api key {key.name}")
    return web.json_response(message_json(row), status=202)

"""SMSEagle's HTTP APIs: JSON-RPC (POST /jsonrpc/sms), API v2 (POST /api/v2/messages/sms) and the
plain HTTP API (GET /http_api/send_sms), each also under /index.php/ as SMSEagle serves them.

What LibreNMS, Apprise (`smseagle://`), Zabbix and Nagios scripts send to an SMSEagle box. The
access token is a gatewayd API key (scope `send` to send, `read` for the reads). Mapping:
- `to` (comma-separated in JSON-RPC, a list in v2), `groupname` / `contactname` (names of the
  console's groups and contacts; v2: `groups` / `contacts` by id) -> recipients;
- `message` / `text` -> the text (literal: no personalisation); `unicode=1` / `encoding=unicode`
  keeps every character (no GSM-7 look-alikes), `unicode=0` / `standard` asks for them;
- `highpriority=1` / v2 `priority` > 0 -> ahead of normal traffic; `date` -> a scheduled send;
  `modem_no` -> the N-th line; v2 `validity` -> the message's TTL;
- `flash=1` -> refused (no line sends class 0 SMS); `test=1` -> every rule checked, nothing sent;
- `message_type=mms`, attachments, binary SMS -> refused (text SMS only).
JSON-RPC answers `{"result": ...}` with HTTP 200 even for errors, as SMSEagle does:
`{"result": {"error_text": "...", "status": "error"}}`; v2 answers problem JSON with a status.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from gatewayd import keys
from gatewayd.api.auth import authenticate_token, check_scope
from gatewayd.api.body import RowId, read_json, validation_problem
from gatewayd.api.messages import recipients as parse_numbers
from gatewayd.api.openapi import describe
from gatewayd.compat import sending
from gatewayd.compat.common import line_by_number, require_enabled, signal_percent
from gatewayd.errors import BadRequest, InvalidInput, ProblemError, Unauthorized
from gatewayd.outbound.compose import Draft
from gatewayd.outbound.model import ACTIVE_STATES, Category
from gatewayd.store import contacts as contact_store
from gatewayd.store import groups as group_store
from gatewayd.store import inbound as inbound_store
from gatewayd.store.apikeys import ApiKeyRow

routes = web.RouteTableDef()
SECTION = "smseagle"
HIGH_PRIORITY = -10         # the ledger's order: lower goes first (API 0, campaigns 10)
MAX_READ = 500
_DATE = re.compile(r"^[0-9]{12}$")  # yyyymmddHHMM, the box's local time
# v2 `validity`: how long the SMSC may keep trying; here, the message's TTL before it is sent.
VALIDITY = {"5m": 300, "10m": 600, "30m": 1800, "1h": 3600, "2h": 7200, "4h": 14400, "12h": 43200,
            "1d": 86400, "2d": 172800, "5d": 432000, "1w": 604800, "2w": 1209600, "4w": 2419200}
STATE_TO_V1 = {"sent": "SendingOKNoReport", "delivered": "DeliveryOK", "failed": "SendingError",
               "expired": "SendingError", "blocked": "SendingError", "canceled": "SendingError",
               "unknown": "SendingOKNoReport"}


# ------------------------------------------------------------------ shared parsing

def _flag(params: dict[str, Any], name: str) -> bool | None:
    """SMSEagle's 0/1 switches (also true/false); None when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value in (1, "1", True, "true", "yes"):
        return True
    if value in (0, "0", False, "false", "no"):
        return False
    raise InvalidInput(name, "must be 0 or 1")


def _int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise InvalidInput(name, "must be an integer") from None


def _text(params: dict[str, Any], name: str, required: bool = True) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise InvalidInput(name, code="text.required")
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # a number written without quotes
    if not isinstance(value, str):
        raise InvalidInput(name, "must be a string")
    return value


def _refuse_non_text(message_type: Any, attachments: Any) -> None:
    if message_type not in (None, "", "sms") or attachments:
        kind = "MMS" if message_type in ("mms", None, "") else str(message_type)
        raise InvalidInput("message_type", code="message.unsupported", kind=kind)


def _local_date(app: web.Application, raw: str) -> datetime:
    if not _DATE.match(raw):
        raise InvalidInput("date", "must be yyyymmddHHMM (the gateway's local time)")
    try:
        naive = datetime.strptime(raw, "%Y%m%d%H%M")
    except ValueError:
        raise InvalidInput("date", "is not a valid date") from None
    return naive.replace(tzinfo=ZoneInfo(app[keys.SETTINGS].site.timezone))


async def _group_numbers(app: web.Application, names: list[str], *, by_id: bool = False) -> list[str]:
    """Every member's mobile of the named (or numbered) groups, in order."""
    found: dict[str, None] = {}
    limit = app[keys.SETTINGS].api.max_recipients
    async with app[keys.DB].read() as conn:
        for name in names:
            if by_id:
                group = await group_store.get_in(conn, int(name))
                gid = group.id if group else None
            else:
                gid = (await group_store.by_names(conn, [name])).get(name.lower())
            if gid is None:
                raise InvalidInput("groups" if by_id else "groupname", code="group.not_found", name=name)
            before = len(found)
            async for batch in group_store.member_batches(conn, gid, size=1000):
                for contact in batch:
                    found.setdefault(contact.mobile)
                if len(found) > limit:
                    raise InvalidInput("groupname", code="recipients.too_many", count=len(found), max=limit)
            if len(found) == before and not by_id:
                raise InvalidInput("groupname", code="group.empty", name=name)
    return list(found)


async def _contact_numbers(app: web.Application, names: list[str]) -> list[str]:
    out: list[str] = []
    async with app[keys.DB].read() as conn:
        for name in names:
            mobiles = await contact_store.mobiles_named(conn, name)
            if not mobiles:
                raise InvalidInput("contactname", code="contact.not_found", name=name)
            if len(mobiles) > 1:
                raise InvalidInput("contactname", code="contact.ambiguous", name=name, count=len(mobiles))
            out.append(mobiles[0])
    return out


def _split(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _draft(app: web.Application, key: ApiKeyRow, numbers: list[str], text: str, *, unicode: bool | None,
           high: bool, flash: bool, send_at: datetime | None, line: str | None,
           ttl: timedelta | None = None, text_field: str = "message") -> Draft:
    return Draft(recipients=numbers, text=text, category=Category(app[keys.SETTINGS].smseagle.category),
                 line=line, send_at=send_at, ttl=ttl, transliterate=None if unicode is None else not unicode,
                 priority=HIGH_PRIORITY if high else 0, flash=flash, source="api", api_key_id=key.id,
                 created_by=f"api key {key.name} (SMSEagle)",
                 field_names={"line": "modem_no", "text": text_field})


# ------------------------------------------------------------------ JSON-RPC

async def _send(request: web.Request, key: ApiKeyRow, params: dict[str, Any], target: str) -> Any:
    app = request.app
    check_scope(key, "send")
    _refuse_non_text(params.get("message_type"), params.get("attachments"))
    text = _text(params, "message")
    settings = app[keys.SETTINGS]
    raw = _text(params, target)
    if target == "to":
        numbers = parse_numbers(_split(raw), settings.sending.default_region, settings.api.allowed_destinations,
                                settings.api.max_recipients)
    elif target == "groupname":
        numbers = await _group_numbers(app, [raw])
    else:
        numbers = await _contact_numbers(app, _split(raw))
    date = params.get("date")
    draft = _draft(app, key, numbers, text, unicode=_flag(params, "unicode"), high=bool(_flag(params, "highpriority")),
                   flash=bool(_flag(params, "flash")), send_at=_local_date(app, str(date)) if date else None,
                   line=line_by_number(app, _int(params, "modem_no"), "modem_no"))
    extended = params.get("responsetype") == "extended"
    if _flag(params, "test"):
        composed = await sending.validate(app, draft)
        items = [{"phone_number": m.to, "status": "ok", "test": 1} for m in composed.messages]
        return items if extended or len(items) > 1 else {k: v for k, v in items[0].items() if k != "phone_number"}
    accepted = await sending.submit(app, key, draft, once=_once(request, {"method": target, **params}),
                                   request=request)
    items = []
    for mid, to, state in accepted.messages:
        item: dict[str, Any] = {"message_id": str(mid), "phone_number": to, "status": "ok"}
        if state not in ACTIVE_STATES:  # blocked by an opt-out: it will never be sent
            item.update(status="error", error_text=_blocked_text(state))
        items.append(item)
    if extended or len(items) > 1:
        return items
    return {k: v for k, v in items[0].items() if k != "phone_number"}


def _once(request: web.Request, what: dict[str, Any]) -> sending.Once | None:
    """SMSEagle has no idempotency key: an `Idempotency-Key` header (as /api/v1 takes) makes a send
    idempotent here too (the access token is left out of what the key must match)."""
    idem = request.headers.get("Idempotency-Key")
    if idem is None:
        return None
    if not 1 <= len(idem) <= 255 or not idem.isprintable():
        raise InvalidInput("Idempotency-Key", "1 to 255 printable characters")
    return sending.Once(f"smseagle:{idem}", {k: v for k, v in what.items() if k != "access_token"})


def _blocked_text(state: str) -> str:
    from gatewayd.problems import english

    return english("optout.blocked", {}) if state == "blocked" else f"not queued: {state}"


def _stamp(app: web.Application, when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(ZoneInfo(app[keys.SETTINGS].site.timezone)).strftime("%Y-%m-%d %H:%M:%S")


async def _read_sms(request: web.Request, key: ApiKeyRow, params: dict[str, Any]) -> Any:
    app = request.app
    check_scope(key, "read")
    folder = params.get("folder") or "inbox"
    id_from, id_to = _int(params, "idfrom") or 1, _int(params, "idto")
    limit = min(max(_int(params, "limit") or 100, 1), MAX_READ)
    sender = params.get("from")
    out: list[dict[str, Any]] = []
    if folder == "inbox":
        for m in await inbound_store.since(app[keys.DB], after_id=id_from - 1, limit=limit):
            if id_to is not None and m.id > id_to:
                break
            if sender and m.sender != sender:
                continue
            out.append({"ID": str(m.id), "SenderNumber": m.sender, "TextDecoded": m.text,
                        "ReceivingDateTime": _stamp(app, m.received_at), "RecipientID": m.line,
                        "Coding": "Default_No_Compression", "UDH": "", "SMSCNumber": "", "Class": "-1",
                        "Processed": "t", "id_folder": "1", "readed": "false", "oid": ""})
    elif folder in ("sentitems", "outbox"):
        wanted = ACTIVE_STATES if folder == "outbox" else None
        rows = await app[keys.OUTBOUND].list(limit=MAX_READ, before_id=(id_to + 1) if id_to else None)
        for sent in reversed(rows):
            if sent.id < id_from or (wanted is not None) != (sent.state in ACTIVE_STATES):
                continue
            out.append({"ID": str(sent.id), "DestinationNumber": sent.to, "TextDecoded": sent.text,
                        "SendingDateTime": _stamp(app, sent.sent_at), "InsertIntoDB": _stamp(app, sent.created_at),
                        "Status": STATE_TO_V1.get(sent.state, "Reserved"),
                        "SenderID": sent.sent_line or sent.line or "",
                        "Coding": "Unicode_No_Compression" if sent.encoding == "ucs2" else "Default_No_Compression",
                        "id_folder": "3" if folder == "sentitems" else "2", "oid": ""})
            if len(out) >= limit:
                break
    else:
        raise InvalidInput("folder", "one of inbox, outbox, sentitems")
    if not out:
        return {"error_text": "No data to display", "status": "error"}
    return {"messages": out}


async def _signal(request: web.Request, key: ApiKeyRow, params: dict[str, Any]) -> Any:
    check_scope(key, "read")
    line = line_by_number(request.app, _int(params, "modem_no") or 1, "modem_no")
    status = next((s for s in request.app[keys.POOL].statuses() if s.name == line), None)
    return signal_percent(status.signal if status else None)


async def _modem_status(request: web.Request, key: ApiKeyRow, params: dict[str, Any]) -> Any:
    check_scope(key, "read")
    statuses = {s.name: s for s in request.app[keys.POOL].statuses()}
    out = []
    for i, name in enumerate(request.app[keys.POOL].names(), start=1):
        s = statuses.get(name)
        ready = s is not None and s.state.value == "ready"
        out.append({"modem_no": i, "name": name, "status": "connected" if ready else "disconnected",
                    "state": s.state.value if s else "unknown", "signal": signal_percent(s.signal if s else None),
                    "operator": (s.operator if s else None) or ""})
    number = _int(params, "modem_no")
    if number is not None:
        line_by_number(request.app, number, "modem_no")
        return out[number - 1]
    return out


METHODS = {
    "sms.send_sms": lambda r, k, p: _send(r, k, p, "to"),
    "sms.send_togroup": lambda r, k, p: _send(r, k, p, "groupname"),
    "sms.send_tocontact": lambda r, k, p: _send(r, k, p, "contactname"),
    "sms.read_sms": _read_sms,
    "signal.get_gsmsignal": _signal,
    "modem.get_modem_status": _modem_status,
}


def _error(text: str, exc: ProblemError | None = None) -> web.Response:
    result: dict[str, Any] = {"error_text": text, "status": "error"}
    if exc is not None and exc.problems:
        result["error_code"] = exc.problems[0].code
    return web.json_response({"result": result})


@routes.post("/jsonrpc/sms")
@routes.post("/index.php/jsonrpc/sms")
async def jsonrpc(request: web.Request) -> web.Response:
    """One SMSEagle JSON-RPC call: {"method": "...", "params": {"access_token": ..., ...}}."""
    require_enabled(request.app, SECTION)
    try:
        data = await read_json(request)
        if not isinstance(data, dict) or not isinstance(data.get("params"), dict):
            raise BadRequest('send {"method": "...", "params": {...}}')
        params: dict[str, Any] = data["params"]
        token = params.get("access_token")
        if not isinstance(token, str) or not token:
            if params.get("login") is not None:
                raise Unauthorized("login and password are not supported: use access_token (a gatewayd API key)")
            raise Unauthorized("missing access_token (a gatewayd API key)")
        key = await authenticate_token(request, token)
        method = METHODS.get(str(data.get("method")))
        if method is None:
            return _error(f"unknown method {data.get('method')!r} (known: {', '.join(METHODS)})")
        return web.json_response({"result": await method(request, key, params)})
    except ProblemError as exc:
        return _error(exc.detail, exc)


# ------------------------------------------------------------------ HTTP API (GET), as LibreNMS sends

HTTP_TARGETS = {"send_sms": "to", "send_togroup": "groupname", "send_tocontact": "contactname"}


@routes.route("*", "/http_api/{method}")
@routes.route("*", "/index.php/http_api/{method}")
async def http_api(request: web.Request) -> web.Response:
    """SMSEagle's oldest API: GET (or form POST) /http_api/send_sms?access_token=&to=&message=,
    answered in plain text: one `OK; ID=[id]` line per recipient, or `Error: ...`."""
    require_enabled(request.app, SECTION)
    target = HTTP_TARGETS.get(request.match_info["method"])
    if target is None or request.method not in ("GET", "POST"):
        raise web.HTTPNotFound(text=f"supported: {', '.join('/http_api/' + m for m in HTTP_TARGETS)}")
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.content_type in ("application/x-www-form-urlencoded",
                                                             "multipart/form-data"):
        params.update({k: v for k, v in (await request.post()).items() if isinstance(v, str)})
    try:
        token = params.get("access_token")
        if not token:
            raise Unauthorized("Invalid login or password: send access_token (a gatewayd API key)")
        key = await authenticate_token(request, token)
        params["responsetype"] = "extended"
        result = await _send(request, key, params, target)
    except ProblemError as exc:
        return web.Response(text=f"Error: {exc.detail}\n", status=200)
    lines = [f"OK; ID=[{item['message_id']}]" if item["status"] == "ok" and "message_id" in item
             else ("OK" if item["status"] == "ok" else f"Error: {item.get('error_text', 'not sent')}")
             for item in result]
    return web.Response(text="\n".join(lines) + "\n")


# ------------------------------------------------------------------ API v2

class V2Send(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: list[str] = Field([], max_length=10_000, description="phone numbers")
    contacts: list[RowId] = Field([], max_length=1000, description="contact ids (console › Contacts)")
    groups: list[RowId] = Field([], max_length=100, description="group ids (console › Groups)")
    text: str = Field(max_length=10_000)
    date: AwareDatetime | None = Field(None, description="send at (RFC 3339 with its offset); default now")
    encoding: Literal["standard", "unicode"] | None = Field(
        None, description="unicode keeps every character; standard uses GSM-7 look-alikes")
    priority: int = Field(0, ge=0, le=9, description="above 0: ahead of normal traffic")
    flash: bool = Field(False, description="class 0 SMS: refused, no line can send one")
    test: bool = Field(False, description="check everything, send nothing")
    modem_no: int | None = Field(None, ge=1, le=64, description="the N-th line")
    validity: str | None = Field(None, description="max, or 5m 10m 30m 1h 2h 4h 12h 1d 2d 5d 1w 2w 4w: unsent "
                                                   "after that, the message expires")


@routes.post("/index.php/api/v2/messages/sms")
@routes.post("/api/v2/messages/sms")
@describe("Send SMS (SMSEagle API v2 shape)", tag="smseagle", scope="send", body=V2Send,
          responses={200: {"type": "array", "items": {
              "type": "object", "required": ["status", "message", "number"], "additionalProperties": False,
              "properties": {"status": {"enum": ["queued", "error", "test_ok"]}, "message": {"type": "string"},
                             "number": {"type": "string"}, "id": {"type": "integer"}, "error": {"type": "string"}}}},
                     401: None, 403: None, 422: None, 429: None},
          headers={"access-token": "a gatewayd API key with the send scope (or Authorization: Bearer)",
                   "Idempotency-Key": "same key and body within 24 h: the same answer, nothing sent twice"})
async def v2_send(request: web.Request) -> web.Response:
    """[{"status": "queued", "message", "number", "id"}] per recipient, as SMSEagle answers."""
    app = request.app
    require_enabled(app, SECTION)
    token = request.headers.get("access-token")
    if token:
        key = await authenticate_token(request, token.strip())
    else:
        from gatewayd.api.auth import authenticate

        key = await authenticate(request)
    check_scope(key, "send")
    data = await read_json(request)
    if not isinstance(data, dict):
        raise InvalidInput("body", "must be a JSON object")
    if "attachments" in data:
        raise InvalidInput("attachments", code="message.unsupported", kind="MMS")
    try:
        body = V2Send.model_validate(data)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    settings = app[keys.SETTINGS]
    numbers = parse_numbers(body.to, settings.sending.default_region, settings.api.allowed_destinations,
                            settings.api.max_recipients) if body.to else []
    if body.contacts:
        async with app[keys.DB].read() as conn:
            found = {c.id: c.mobile for c in await contact_store.by_ids(conn, body.contacts)}
        missing = [cid for cid in body.contacts if cid not in found]
        if missing:
            raise InvalidInput("contacts", code="contact.not_found", name=str(missing[0]))
        numbers += [found[cid] for cid in body.contacts]
    if body.groups:
        numbers += await _group_numbers(app, [str(g) for g in body.groups], by_id=True)
    if not numbers:
        raise InvalidInput("to", code="recipients.none")
    ttl = None
    if body.validity not in (None, "max"):
        if body.validity not in VALIDITY:
            raise InvalidInput("validity", f"one of max, {', '.join(VALIDITY)}")
        ttl = timedelta(seconds=VALIDITY[body.validity])
    draft = _draft(app, key, list(dict.fromkeys(numbers)), body.text,
                   unicode=None if body.encoding is None else body.encoding == "unicode", high=body.priority > 0,
                   flash=body.flash, send_at=body.date, line=line_by_number(app, body.modem_no, "modem_no"), ttl=ttl,
                   text_field="text")
    if body.test:
        composed = await sending.validate(app, draft)
        return web.json_response([{"status": "test_ok", "message": m.text, "number": m.to}
                                  for m in composed.messages])
    accepted = await sending.submit(app, key, draft, once=_once(request, {"method": "v2", **data}), request=request)
    out = []
    for mid, to, state in accepted.messages:
        item: dict[str, Any] = {"status": "queued", "message": body.text, "number": to, "id": mid}
        if state not in ACTIVE_STATES:
            item.update(status="error", error=_blocked_text(state))
        out.append(item)
    return web.json_response(out)

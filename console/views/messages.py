"""New SMS (counter, several numbers, contacts and groups, schedule, category) and Sent (search,
state filter, details with parts and reports, resend, cancel, live states)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from console.forms import (
    PAGE_SIZES,
    actor,
    checked,
    decode_cursor,
    encode_cursor,
    ints,
    local_datetime,
    page_size,
    month_to_date,
    path_id,
    text,
    texts,
)
from console.render import field_errors, formats, fragment, redirect, render, t, tn
from console.routing import Pages
from console.state import session_of

from gatewayd import keys
from gatewayd.errors import Conflict, InvalidInput, NotFound
from gatewayd.inbound.parts import number_prefixes
from gatewayd.modem.segments import count_segments
from gatewayd.outbound.compose import Draft
from gatewayd.outbound.model import Category
from gatewayd.outbound.reports import status_key
from gatewayd.phone import InvalidNumber, normalise
from gatewayd.store import console_reads
from gatewayd.store import groups as group_store
from gatewayd.store import templates as template_store

pages = Pages()
PAGE = 50
MAX_RECIPIENTS = 10_000     # beyond this, a campaign is the right tool (window, pause, stats)
STATES = ("scheduled", "queued", "sending", "sent", "delivered", "failed", "expired", "blocked", "canceled",
          "unknown")


async def _form(request: web.Request, values: dict[str, Any], errors: dict[str, str],
                status: int = 200) -> web.Response:
    app = request.app
    picked = []
    fmt = formats(request)
    for cid in values.get("contacts", [])[:100]:
        try:
            c = await app[keys.CONTACTS].get(cid)
        except NotFound:
            continue
        picked.append({"kind": "contact", "value": c.id,
                       "label": " ".join(p for p in (c.first_name, c.last_name) if p) or fmt.phone(c.mobile)})
    for gid in values.get("groups", [])[:100]:
        try:
            g = await app[keys.GROUPS].get(gid)
        except NotFound:
            continue
        picked.append({"kind": "group", "value": g.id, "label": g.name})
    picked += [{"kind": "number", "value": n, "label": n} for n in values.get("numbers", [])[:1000]]
    templates = await template_store.list_page(app[keys.DB], limit=200)
    settings = app[keys.SETTINGS]
    return await render(request, "messages/new.html", {
        "values": values, "errors": errors, "picked": picked, "templates": templates,
        "lines": app[keys.POOL].names(), "max_segments": settings.sending.max_segments}, status=status)


@pages.get("/sms/new", role="operator", name="new_sms")
async def new_sms(request: web.Request) -> web.Response:
    contacts = [int(c) for c in request.query.getall("contact", []) if c.isdigit()]
    numbers = [n[:40] for n in request.query.getall("to", [])][:10]
    return await _form(request, {"text": "", "numbers": numbers, "contacts": contacts, "groups": [],
                                 "category": "transactional", "send_at": "", "line": "", "template": "",
                                 "transliterate": request.app[keys.SETTINGS].sending.transliterate,
                                 "confirm": None}, {})


async def _recipients(request: web.Request, values: dict[str, Any]) -> list[str]:
    """Every E.164 recipient, deduplicated in order; InvalidInput names the first bad number."""
    region = request.app[keys.SETTINGS].sending.default_region
    found: dict[str, None] = {}
    for i, raw in enumerate(values["numbers"]):
        try:
            found.setdefault(normalise(raw, region))
        except InvalidNumber as exc:
            raise InvalidInput(problems=[exc.problem.at(f"numbers[{i}]")]) from None
    for cid in values["contacts"]:
        found.setdefault((await request.app[keys.CONTACTS].get(cid)).mobile)
    for gid in values["groups"]:
        group = await request.app[keys.GROUPS].get(gid)
        members = 0
        async with request.app[keys.DB].read() as conn:
            async for batch in group_store.member_batches(conn, gid, size=1000):
                members += len(batch)
                for c in batch:
                    found.setdefault(c.mobile)
                if len(found) > MAX_RECIPIENTS:
                    break
        if not members:
            raise InvalidInput("groups", t(request, "sms.empty_group", name=group.name))
    if not found:
        raise InvalidInput("recipients", t(request, "sms.no_recipient"))
    if len(found) > MAX_RECIPIENTS:
        raise InvalidInput("recipients", t(request, "sms.too_many", max=MAX_RECIPIENTS))
    return list(found)


@pages.post("/sms/new", role="operator")
async def send_sms(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    body, line, when = text(form, "text", 10_000), text(form, "line", 32), text(form, "send_at", 30)
    category = "marketing" if text(form, "category", 20) == "marketing" else "transactional"
    # Numbers typed but not yet turned into chips count too.
    numbers = texts(form, "number", 40) + [n.strip() for n in text(form, "number_input", 2000).replace(";", ",")
                                           .split(",") if n.strip()]
    template = text(form, "template", 12)
    values: dict[str, Any] = {"text": body, "numbers": numbers, "contacts": ints(form, "contact"),
                              "groups": ints(form, "group"), "category": category, "send_at": when, "line": line,
                              "template": template, "transliterate": checked(form, "transliterate"),
                              "confirm": None}
    tz = ZoneInfo(request.app[keys.SETTINGS].site.timezone)
    try:
        if not body.strip():
            raise InvalidInput("text", t(request, "sms.text_required"))
        send_at = local_datetime(when, tz, "send_at") if checked(form, "schedule") else None
        recipients = await _recipients(request, values)
        # Office staff type {first_name} meaning the contact's first name, template or not: the
        # service fills the {variables} for each recipient (or names the one it cannot fill);
        # {{ and }} write braces.
        draft = Draft(
            recipients=recipients, text=body, personalise=True, category=Category(category),
            send_at=send_at, line=line or None, transliterate=values["transliterate"], source="console",
            created_by=actor(request), user_id=session_of(request).user.id,
            based_on=int(template) if template.isdigit() else None)
        if values["groups"]:
            # A group may be many people: say how many and how many SMS before anything leaves,
            # as the composition counts them (mention, look-alikes, personalised texts).
            composed = await request.app[keys.OUTBOUND].compose(draft)
            figures = f"{len(composed.messages)}:{composed.segments}"
            if text(form, "confirmed", 40) != figures:
                values["confirm"] = {"recipients": len(composed.messages), "segments": composed.segments,
                                     "token": figures}
                return await _form(request, values, {})
        rows = await request.app[keys.OUTBOUND].submit_draft(draft)
    except (InvalidInput, NotFound, Conflict) as exc:
        return await _form(request, values, field_errors(exc, request), 422)
    if len(rows) == 1:
        raise redirect(request, f"/sent/{rows[0].id}", "scheduled" if send_at else "sent")
    raise redirect(request, "/sent", "scheduled" if send_at else "sent")


def waiting_text(request: web.Request, row: Any) -> str | None:
    """Why a scheduled or queued message has not gone out, as the outbound service sees it, in
    the page's language (None for other states)."""
    wait = request.app[keys.OUTBOUND].why_waiting(row)
    if wait is None:
        return None
    fmt = formats(request)
    key = "wait.no_line_named" if wait.reason == "no_line" and wait.line else f"wait.{wait.reason}"
    return t(request, key, until=fmt.moment(wait.until) if wait.until else "…", line=wait.line or "")


@pages.get("/sms/preview", role="operator", name="sms_preview", json=True)
async def sms_preview(request: web.Request) -> web.Response:
    """The counter of New SMS and of the other forms, from the service's own rules: the STOP mention
    (marketing, in the site's language), the GSM-7 look-alikes and what they save."""
    q = request.query
    settings = request.app[keys.SETTINGS]
    category = "marketing" if q.get("category") == "marketing" else "transactional"
    transliterate = q.get("transliterate") in ("on", "1", "true") if "transliterate" in q else None
    composer = request.app[keys.OUTBOUND].composer
    via = q.get("line") if q.get("line") in composer.lines.names() else None
    done = composer.preview(q.get("text", "")[:10_000], category=category, transliterate=transliterate, line=via)
    info = count_segments(done.text)
    notes = []
    if done.mention:
        notes.append(t(request, "counter.mention", mention=done.mention))
    if done.replaced:
        changes = ", ".join(f"{a}→{b}" for a, b, _ in done.replaced)
        notes.append(tn(request, "counter.transliterated", done.segments_saved, changes=changes,
                        saved=done.segments_saved))
    if info.ucs2_forcing:
        notes.append(t(request, "counter.ucs2", chars=" ".join(info.ucs2_forcing)))
    line = t(request, "counter.template", encoding=info.encoding, characters=info.characters,
             segments=info.segments, remaining=info.remaining)
    return web.json_response({"line": line, "notes": notes, "segments": info.segments, "encoding": info.encoding,
                              "over": info.segments > settings.sending.max_segments,
                              "mention": done.mention, "saved": done.segments_saved, "text": done.text})


@dataclass(frozen=True)
class SentFilters:
    """The Sent page's search box and state, as the store filters them."""

    q: str
    state: str | None
    to: str | None          # the box held a whole number
    to_prefix: str | None   # ... the start of one
    text: str | None        # ... words of the text


def sent_filters(request: web.Request) -> SentFilters:
    q = request.query.get("q", "").strip()[:100]
    state = request.query.get("state") or None
    if state not in (None, *STATES):
        state = None
    region = request.app[keys.SETTINGS].sending.default_region
    to = to_prefix = text_q = None
    if q:
        prefixes = number_prefixes(q, region)
        if prefixes and prefixes[0].startswith("+"):
            try:
                to = normalise(q, region)
            except InvalidNumber:
                to_prefix = prefixes[0]
        else:
            text_q = q
    return SentFilters(q, state, to, to_prefix, text_q)


@pages.get("/sent", name="sent")
async def sent(request: web.Request) -> web.Response:
    f = sent_filters(request)
    q, state = f.q, f.state
    cursor = decode_cursor(request)
    before = int(cursor[0]) if cursor and cursor[0].isdigit() else None
    size = page_size(request, PAGE)
    async with request.app[keys.DB].read() as conn:
        page = await console_reads.search_sent(conn, text=f.text, to=f.to, to_prefix=f.to_prefix, state=state,
                                               before_id=before, limit=size)
    if len(page.rows) == size:
        next_after = encode_cursor(page.rows[-1].id)
    elif page.scanned_to:
        next_after = encode_cursor(page.scanned_to)
    else:
        next_after = None
    return await render(request, "messages/sent.html", {
        "rows": page.rows, "q": q, "state": state, "states": STATES, "next_after": next_after, "size": size,
        "waiting": {m.id: waiting_text(request, m) for m in page.rows if m.state in ("queued", "scheduled")},
        "paged": before is not None, "searched_back_to": page.scanned_to if len(page.rows) < size else None,
        "export_period": month_to_date(formats(request).today)})


@pages.get("/sent/{id:\\d+}", name="message")
async def message(request: web.Request) -> web.Response:
    detail = await request.app[keys.OUTBOUND].get(path_id(request))
    return await render(request, "messages/detail.html", {"m": detail.message, "parts": detail.parts,
                                                           "waiting": waiting_text(request, detail.message),
                                                           "report_text": _report_key})


@pages.get("/sent/{id:\\d+}/live", name="message_live", json=True)
async def message_live(request: web.Request) -> web.Response:
    detail = await request.app[keys.OUTBOUND].get(path_id(request))
    html = fragment(request, "messages/_detail_live.html", {"m": detail.message, "parts": detail.parts,
                                                            "waiting": waiting_text(request, detail.message),
                                                            "report_text": _report_key})
    done = detail.message.state in ("delivered", "failed", "expired", "blocked", "canceled", "unknown")
    return web.json_response({"html": html, "done": done})


@pages.get("/sent/states", name="sent_states", json=True)
async def sent_states(request: web.Request) -> web.Response:
    """Current states of the messages a Sent page shows (it polls them)."""
    ids = [int(i) for i in request.query.get("ids", "").split(",")[:PAGE_SIZES[-1]] if i.isdigit()]
    async with request.app[keys.DB].read() as conn:
        states = await console_reads.states_of(conn, ids)
    return web.json_response({"states": {str(k): {"state": v, "label": t(request, f"state.{v}")}
                                         for k, v in states.items()}})


@pages.post("/sent/{id:\\d+}/resend", role="operator", name="message_resend")
async def resend(request: web.Request) -> web.StreamResponse:
    row = await request.app[keys.OUTBOUND].resend(path_id(request), by=actor(request))
    raise redirect(request, f"/sent/{row.id}", "resent")


@pages.post("/sent/{id:\\d+}/complete", role="operator", name="message_complete")
async def complete(request: web.Request) -> web.StreamResponse:
    row = await request.app[keys.OUTBOUND].complete(path_id(request), by=actor(request))
    raise redirect(request, f"/sent/{row.id}", "completing")


@pages.post("/sent/{id:\\d+}/cancel", role="operator", name="message_cancel")
async def cancel(request: web.Request) -> web.StreamResponse:
    row = await request.app[keys.OUTBOUND].cancel(path_id(request))
    raise redirect(request, f"/sent/{row.id}", "canceled")


def _report_key(status: int) -> str:
    """The catalogue key of a delivery report's meaning (tpst.0x46, tpst.temporary…)."""
    return f"tpst.{status_key(status)}"

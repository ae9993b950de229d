"""CSV exports of Sent and Received for a period (a month's traffic for accounting, a complaint's
history) and of the STOP list: the page's filters, dates in the box's time zone, headers and
states in the user's language, streamed page by page."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, time, timedelta
from typing import Any

from aiohttp import web
from console.forms import month_to_date
from console.i18n import Formats
from console.render import formats, message_error, t
from console.routing import Pages
from console.views.messages import STATES, sent_filters

from gatewayd import keys
from gatewayd.csv_export import csv_stream
from gatewayd.downloads import send_download
from gatewayd.errors import InvalidInput
from gatewayd.store import console_reads

pages = Pages()
PAGE = 1000
MAX_DAYS = 366
SENT_COLUMNS = ("id", "created_at", "to", "text", "state", "category", "source", "by", "campaign", "line",
                "segments", "sent_at", "delivered_at", "error")
RECEIVED_COLUMNS = ("id", "received_at", "from", "text", "line", "intent", "thread")


def period(request: web.Request, fmt: Formats) -> tuple[date, date, datetime, datetime]:
    """?from=&to= (YYYY-MM-DD, both days included) and the UTC instants bounding them."""
    first, last = month_to_date(fmt.today)
    days: dict[str, date] = {}
    for field, default in (("from", first), ("to", last)):
        raw = request.query.get(field, "").strip()
        try:
            days[field] = date.fromisoformat(raw) if raw else default
        except ValueError:
            raise InvalidInput(field, code="date.invalid", raw=raw[:20]) from None
    for field, day in days.items():
        if not 2000 <= day.year <= 2999:  # also keeps the day arithmetic below inside datetime's range
            raise InvalidInput(field, code="date.out_of_range", day=day.isoformat())
    if days["to"] < days["from"]:
        raise InvalidInput("to", code="period.reversed")
    if (days["to"] - days["from"]).days >= MAX_DAYS:
        raise InvalidInput("to", code="period.too_long", days=MAX_DAYS)
    since = datetime.combine(days["from"], time(), fmt.tz)
    until = datetime.combine(days["to"] + timedelta(days=1), time(), fmt.tz)
    return days["from"], days["to"], since, until


@pages.get("/sent/export.csv", role="operator", name="sent_export")
async def sent_export(request: web.Request) -> web.StreamResponse:
    fmt = formats(request)
    first, last, since, until = period(request, fmt)
    filters = sent_filters(request)
    db, when = request.app[keys.DB], fmt.stamp
    states = {s: t(request, f"state.{s}") for s in STATES}
    categories = {c: t(request, f"category.{c}") for c in ("transactional", "marketing")}
    reasons: dict[object, str] = {}  # a failure's reason repeats across thousands of messages

    def reason(m: Any) -> str:
        key = (m.error_key, repr(m.error_params), m.error) if m.error_key else m.error
        found = reasons.get(key)
        if found is None:
            found = message_error(request, m)
            if len(reasons) < 1000:
                reasons[key] = found
        return found

    async def rows() -> AsyncIterator[list[list[Any]]]:
        after = 0
        while True:
            async with db.read() as conn:
                page = await console_reads.sent_in_period(conn, since=since, until=until, after_id=after, limit=PAGE,
                                                          state=filters.state, to=filters.to,
                                                          to_prefix=filters.to_prefix, text=filters.text)
            if not page:
                return
            yield [[m.id, when(m.created_at), m.to, m.text, states[m.state], categories[m.category], m.source,
                    m.created_by, m.campaign_id, m.line, m.segments, when(m.sent_at), when(m.delivered_at),
                    reason(m) if m.error else None]
                   for m in page]
            if len(page) < PAGE:  # the walk reached the end: another query would scan the tail again
                return
            after = page[-1].id

    header = [t(request, f"export.sent.{c}") for c in SENT_COLUMNS]
    return await send_download(request, csv_stream(header, rows()), "text/csv; charset=utf-8",
                               f"sent-{first.isoformat()}-{last.isoformat()}.csv")


@pages.get("/received/export.csv", role="operator", name="received_export")
async def received_export(request: web.Request) -> web.StreamResponse:
    fmt = formats(request)
    first, last, since, until = period(request, fmt)
    db, when = request.app[keys.DB], fmt.stamp

    async def rows() -> AsyncIterator[list[list[Any]]]:
        after: tuple[datetime, int] | None = None
        while True:
            async with db.read() as conn:
                page = await console_reads.received_in_period(conn, since=since, until=until, after=after, limit=PAGE)
            if not page:
                return
            yield [[m.id, when(m.received_at), m.sender, m.text, m.line,
                    t(request, f"intent.{m.intent}") if m.intent else None, m.thread_id] for m in page]
            if len(page) < PAGE:
                return
            after = (page[-1].received_at, page[-1].id)

    header = [t(request, f"export.received.{c}") for c in RECEIVED_COLUMNS]
    return await send_download(request, csv_stream(header, rows()), "text/csv; charset=utf-8",
                               f"received-{first.isoformat()}-{last.isoformat()}.csv")


@pages.get("/stop-list/export.csv", role="operator", name="optouts_export")
async def optouts_export(request: web.Request) -> web.StreamResponse:
    """Everyone opted out now (a suppression list for any other tool that sends on our behalf)."""
    optouts = request.app[keys.INBOUND].optouts
    when = formats(request).stamp
    sources = {s: t(request, f"optout_source.{s}") for s in ("sms", "api", "console", "import", "call")}

    async def rows() -> AsyncIterator[list[list[Any]]]:
        after: str | None = None
        while page := await optouts.current(limit=PAGE, after_number=after):
            yield [[o.number, when(o.created_at), sources.get(o.source, o.source), o.line] for o in page]
            if len(page) < PAGE:
                return
            after = page[-1].number

    header = [t(request, f"optouts.{c}") for c in ("number", "since", "source", "line")]
    stamp = formats(request).today.isoformat()
    return await send_download(request, csv_stream(header, rows()), "text/csv; charset=utf-8",
                               f"stop-list-{stamp}.csv")

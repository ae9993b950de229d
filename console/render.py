"""Rendering console pages: the common context (user, language, formats, CSRF, navigation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import aiohttp_jinja2
from aiohttp import web
from gatewayd.problems import worded
from console.i18n import Formats, catalog, translate, translate_count, word_problem
from console.routing import allows
from console.state import FORMATS, LANG, PRE_CSRF, SESSION

from gatewayd import __version__, keys
from gatewayd.errors import FieldError, ProblemError
from gatewayd.store.sessions import SessionRow

# Navigation: (message key, route name, least role). Entries whose route is absent (its service
# has not landed in this build) are left out.
NAV = (
    ("nav.dashboard", "dashboard", "viewer"),
    ("nav.discussions", "discussions", "viewer"),
    ("nav.new_sms", "new_sms", "operator"),
    ("nav.sent", "sent", "viewer"),
    ("nav.received", "received", "viewer"),
    ("nav.contacts", "contacts", "viewer"),
    ("nav.groups", "groups", "viewer"),
    ("nav.imports", "imports", "operator"),
    ("nav.templates", "templates", "viewer"),
    ("nav.campaigns", "campaigns", "viewer"),
    ("nav.optouts", "optouts", "viewer"),
    ("nav.calls", "calls", "viewer"),
    ("nav.lines", "lines", "viewer"),
    ("nav.notifications", "notifications", "viewer"),
    ("nav.settings", "settings", "admin"),
)

# Messages a redirect may announce with ?done=<key> (only these keys, so nothing else is shown).
DONE_KEYS = frozenset({
    "saved", "deleted", "created", "sent", "scheduled", "canceled", "resent", "completing", "paused", "resumed",
    "refreshed", "added", "removed", "password_changed", "signed_out", "imported", "revoked",
    "campaign_scheduled", "campaign_launched", "campaign_canceled", "campaign_paused", "campaign_resumed",
    "campaign_saved", "test_sent", "webhook_test_queued", "webhook_replayed",
})


def formats(request: web.Request) -> Formats:
    cached = request.get(FORMATS)
    if cached is None:
        settings = request.app[keys.SETTINGS]
        cached = request[FORMATS] = Formats(request.get(LANG, settings.site.language), ZoneInfo(settings.site.timezone),
                                              settings.sending.default_region, request.app[keys.CLOCK].now())
    return cached


def t(request: web.Request, key: str, /, **values: object) -> str:
    return translate(request.get(LANG, "en"), key, **values)


def tn(request: web.Request, key: str, count: int, /, **values: object) -> str:
    """t() for a number of things (singular form where the language uses it; see translate_count)."""
    return translate_count(request.get(LANG, "en"), key, count, **values)


def url(request: web.Request, name: str, query: Mapping[str, Any] | None = None, /, **parts: Any) -> str:
    """The path of a named console route, with `query` appended (None values dropped)."""
    if "query" in parts:  # templates pass it by keyword; no route has a path part named "query"
        query = parts.pop("query")
    path = str(request.app.router[name].url_for(**{k: str(v) for k, v in parts.items()}))
    if query:
        clean = {k: v for k, v in query.items() if v not in (None, "")}
        if clean:
            path += "?" + urlencode(clean)
    return path


def has_route(request: web.Request, name: str) -> bool:
    """Whether the named page exists in this build and its services are running."""
    from console.views import running

    resource = request.app.router.named_resources().get(name)
    if resource is None:
        return False
    return all(running(request.app, route.handler) for route in resource)


def nav(request: web.Request, session: SessionRow | None) -> list[dict[str, Any]]:
    if session is None:
        return []
    items = []
    for key, name, role in NAV:
        if has_route(request, name) and allows(session.user.role, role):
            path = url(request, name)
            current = request.path == path or (path != "/" and request.path.startswith(path + "/"))
            items.append({"label": t(request, key), "url": path, "current": current, "name": name})
    return items


def csrf_token(request: web.Request) -> str:
    session: SessionRow | None = request.get(SESSION)
    return session.csrf_token if session is not None else request.get(PRE_CSRF, "")


def author(lang: str, by: str | None) -> str:
    if not by:
        return ""
    if by.startswith("console "):
        return translate(lang, "sent.by_console", user=by[8:])
    if by.startswith("api key "):
        return translate(lang, "sent.by_api", key=by[8:])
    return by


def line_label(request: web.Request, name: str | None) -> str:
    """A line as people know it: its label, and its number when known ("Accueil (06 12 34 56 78)")."""
    if not name:
        return ""
    if keys.LINE_IDENTITIES not in request.app:
        return name
    identity = request.app[keys.LINE_IDENTITIES].get(name)
    return f"{identity.label} ({formats(request).phone(identity.number)})" if identity.number else identity.label


def base_context(request: web.Request) -> dict[str, Any]:
    session: SessionRow | None = request.get(SESSION)
    lang = request.get(LANG, "en")
    done = request.query.get("done")
    return {
        "_": lambda key, /, **values: translate(lang, key, **values),  # positional: a value may be named key
        "_n": lambda key, count, /, **values: translate_count(lang, key, count, **values),
        "lang": lang,
        "fmt": formats(request),
        "user": session.user if session else None,
        "csrf": csrf_token(request),
        "nav": nav(request, session),
        "path": request.path,
        "query": request.query,
        "can": (lambda role: allows(session.user.role, role)) if session else (lambda role: False),
        "url": lambda route, query=None, /, **parts: url(request, route, query, **parts),
        "has_route": lambda name: has_route(request, name),
        "static": lambda path: f"/static/{path}?v={__version__}",
        "done": translate(lang, f"done.{done}") if done in DONE_KEYS else None,
        # A stored reason (a problem as data: an import's rejected line, a repair) in the page's
        # language; text stored before reasons had codes is shown as it is.
        "problem": lambda value: worded(value, lambda code, params: word_problem(lang, code, params)),
        # A technical name shown to people (a line's detail, a contact field): its catalogue label
        # "<prefix>.<name>" when there is one, else the name itself (custom fields are named by users).
        "label": lambda prefix, name: catalog(lang).get(f"{prefix}.{name}", name),
        # Who did it, as the audit fields record it ('console <user>', 'api key <name>'), in words.
        "author": lambda by: author(lang, by),
        # A line's label and number wherever a line is named or chosen (see line_label).
        "line_label": lambda name: line_label(request, name),
        # Why a message is blocked, failed or waits, from its stable code (see message_error).
        "message_error": lambda m: message_error(request, m),
        "poll_ms": int(request.app[keys.SETTINGS].console.poll_seconds * 1000),
        "version": __version__,
        # Unread alerts (the notifications badge and banner), counted by the alert service's checks.
        "alerts_unread": request.app[keys.ALERTS].unread if session and keys.ALERTS in request.app else 0,
    }


async def unread_badge(request: web.Request) -> int:
    """Unread received messages over all conversations (menu badge, page title); 0 without the
    inbound service. One sum over the partial index of unread threads."""
    if not hasattr(keys, "INBOUND") or keys.INBOUND not in request.app:
        return 0
    from gatewayd.store import threads

    return await threads.unread_total(request.app[keys.DB])


async def render(request: web.Request, template: str, context: Mapping[str, Any] | None = None, *,
                 status: int = 200) -> web.Response:
    ctx = base_context(request)
    ctx["unread_total"] = await unread_badge(request) if ctx["user"] else 0
    if context:
        ctx.update(context)
    response = aiohttp_jinja2.render_template(template, request, ctx, status=status)
    return response


def fragment(request: web.Request, template: str, context: Mapping[str, Any]) -> str:
    """A partial template rendered with the common context (live updates insert it as it is: the
    HTML was escaped here, by the same autoescaping environment as whole pages)."""
    ctx = base_context(request)
    ctx.update(context)
    return aiohttp_jinja2.get_env(request.app).get_template(template).render(ctx)


def redirect(request: web.Request, location: str, done: str | None = None) -> web.HTTPSeeOther:
    """303 to `location` (a local path), announcing `done` there."""
    if not location.startswith("/") or location.startswith("//"):
        location = "/"
    if done:
        location += ("&" if "?" in location else "?") + f"done={done}"
    return web.HTTPSeeOther(location)


def problem_text(request: web.Request | None, err: FieldError) -> str:
    """One service error in the page's language: a coded one from the catalogue's `problem.<code>`
    with its parameters (never its English). An error without a code (a check of a library, such as
    pydantic's on a form) shows its own text: no English sentence is translated back."""
    if err.code is not None:
        return word_problem(request.get(LANG, "en") if request is not None else "en", err.code, err.params)
    return err.message


def message_error(request: web.Request | None, m: Any) -> str:
    """Why a message is blocked, failed, expired or waits (anything with `error` and `reason`), in the
    page's language: its coded reason from the catalogue, or the stored text of an older row."""
    reason = getattr(m, "reason", None)
    if reason is None:  # a row stored before reasons had codes: its text as it was stored
        return str(m.error or "")
    params = dict(reason.params)
    if reason.code == "report.failed":
        lang = request.get(LANG, "en") if request is not None else "en"
        params["meaning"] = translate(lang, f"tpst.{params.get('status')}") \
            if f"tpst.{params.get('status')}" in catalog(lang) else params.get("meaning", "")
    return problem_text(request, FieldError("", m.error or "", reason.code, params))


def field_errors(exc: ProblemError, request: web.Request | None = None) -> dict[str, str]:
    """Service errors keyed by field, for showing next to the inputs (first message per field)."""
    out: dict[str, str] = {}
    for err in exc.errors or [FieldError("", exc.detail)]:
        out.setdefault(err.field, problem_text(request, err))
    return out


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"  # browsers drop tabs and newlines: "/\t/evil.example" would become "//evil.example"
    return value


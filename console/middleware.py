"""The console's gate: first run, session, language, role and CSRF checks before any view runs.

Order for a console request: static files pass; while no user exists every page leads to the
first-run page; the session cookie is resolved; the view's declared access is enforced (sign-in,
role); unsafe methods must carry the CSRF token. Errors become HTML pages, not problem JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from console import auth
from console.i18n import LANGUAGES, negotiate
from console.render import problem_text, render, t
from console.routing import Access, access_of, allows
from console.security import (
    UNSAFE_METHODS,
    CsrfError,
    check_csrf,
    is_console_path,
)
from console.state import CONSOLE_STATE, CSRF_EXPECTED, LANG, PRE_CSRF, SESSION
from console.views import running

from gatewayd import keys
from gatewayd.errors import ProblemError, TooManyRequests
from gatewayd.store import users as user_store
from gatewayd.store.errors import DiskFull
from gatewayd.store.sessions import SessionRow

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FIRST_RUN_PATH = "/setup"


def _language(request: web.Request) -> str:
    session: SessionRow | None = request.get(SESSION)
    if session is not None and session.user.language in LANGUAGES:
        return str(session.user.language)
    chosen = request.cookies.get("gw_lang", "")
    if chosen in LANGUAGES:
        return chosen
    return negotiate(request.headers.get("Accept-Language"), request.app[keys.SETTINGS].site.language)


async def _has_users(request: web.Request) -> bool:
    # Once a user exists the answer never goes back (the last admin cannot be removed), so cache it.
    state = request.app[CONSOLE_STATE]
    if not state.get("has_users"):
        state["has_users"] = await user_store.count(request.app[keys.DB]) > 0
    return bool(state["has_users"])


def _wants_json(request: web.Request, access: Access | None) -> bool:
    return bool(access and access.json) or "application/json" in request.headers.get("Accept", "")


async def _error_page(request: web.Request, status: int, title_key: str, detail: str = "",
                      access: Access | None = None, headers: dict[str, str] | None = None) -> web.Response:
    if _wants_json(request, access):
        response: web.Response = web.json_response({"status": status, "title": t(request, title_key),
                                                   "detail": detail}, status=status)
    else:
        response = await render(request, "error.html", {"status": status, "title": t(request, title_key),
                                                        "detail": detail}, status=status)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@web.middleware
async def console_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not is_console_path(request.path):
        return await handler(request)
    if request.path.startswith("/static/"):
        return await handler(request)

    route = request.match_info.route
    access = access_of(route.handler) if route is not None else None
    request[LANG] = _language(request)

    if not await _has_users(request):
        if request.path != FIRST_RUN_PATH:
            raise web.HTTPSeeOther(FIRST_RUN_PATH)
    elif request.path == FIRST_RUN_PATH:
        raise web.HTTPSeeOther("/login")

    session = await auth.load_session(request)
    request[SESSION] = session
    request[LANG] = _language(request)
    pre_new = None
    if session is None:
        request[PRE_CSRF] = request.cookies.get(auth.PRE_COOKIE) or ""
        if not request[PRE_CSRF]:
            pre_new = request[PRE_CSRF] = auth.new_pre_token()

    if getattr(request.match_info, "http_exception", None) is None and access is None:
        # A console route that declared no access rule: refuse rather than guess (fail closed).
        log.error("console route %s has no access rule", request.path)
        return await _error_page(request, 403, "error.forbidden")

    if access is not None and not running(request.app, route.handler):
        return await _error_page(request, 503, "error.unavailable", t(request, "error.unavailable_detail"), access)

    if access is not None and access.role is not None:
        if session is None:
            if _wants_json(request, access):
                return await _error_page(request, 401, "error.signed_out", access=access)
            target = request.path_qs if request.method == "GET" else request.path
            raise web.HTTPSeeOther("/login?" + urlencode({"next": target}))
        if not allows(session.user.role, access.role):
            return await _error_page(request, 403, "error.forbidden",
                                     t(request, "error.role_needed", role=t(request, f"role.{access.role}")),
                                     access=access)

    try:
        if request.method in UNSAFE_METHODS and access is not None:
            request[CSRF_EXPECTED] = session.csrf_token if session else request.get(PRE_CSRF, "")
            await check_csrf(request, access, request[CSRF_EXPECTED])
        response = await handler(request)
    except CsrfError as exc:
        log.warning("console %s %s refused: %s", request.method, request.path, exc)
        return await _error_page(request, 403, "error.csrf", t(request, "error.csrf_detail"), access)
    except TooManyRequests as exc:
        return await _error_page(request, 429, "error.rate_limited", exc.detail, access,
                                 {"Retry-After": str(exc.retry_after)})
    except ProblemError as exc:
        # The page shows the service's message in the page's language (the field names of an
        # InvalidInput's detail are the API's, meaningless here, so its messages are shown alone).
        detail = "; ".join(problem_text(request, e) for e in exc.errors) if exc.errors \
            else exc.detail
        return await _error_page(request, exc.status, f"error.http_{exc.status}"
                                 if exc.status in (400, 401, 403, 404, 409, 413, 422) else "error.internal",
                                 detail, access)
    except DiskFull as exc:
        log.warning("console %s %s refused: %s", request.method, request.path, exc)
        return await _error_page(request, 507, "error.http_507", str(exc), access, {"Retry-After": "30"})
    except web.HTTPException as exc:
        if exc.status in (404, 405):
            return await _error_page(request, exc.status, f"error.http_{exc.status}", "", access)
        raise
    except Exception:
        log.exception("console error on %s %s", request.method, request.path)
        return await _error_page(request, 500, "error.internal", t(request, "error.internal_detail"), access)
    if pre_new:
        auth.set_cookie(request, response, auth.PRE_COOKIE, pre_new, None)
    return response


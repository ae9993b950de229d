"""First run (create the administrator), sign-in, sign-out, language, and one's own account."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from console import auth
from console.forms import text
from console.i18n import LANGUAGES, word_problem
from console.render import field_errors, redirect, render, safe_next, t
from console.routing import Pages
from console.state import CONSOLE_STATE, LANG, SESSION, session_of

from gatewayd import keys
from gatewayd.accounts import first_run
from gatewayd.accounts import users as accounts
from gatewayd.accounts.passwords import hash_password_async, policy_problems, verify_password_async
from gatewayd.errors import Conflict, InvalidInput
from gatewayd.store import sessions as session_store
from gatewayd.store import users as user_store

pages = Pages()


def policy_text(request: web.Request) -> str:
    return t(request, "password.policy")


def password_problem(request: web.Request, password: str, confirm: str) -> str | None:
    """A translated reason why this new password is refused, or None."""
    if password != confirm:
        return t(request, "password.mismatch")
    missing = policy_problems(password)
    if missing:
        return word_problem(request.get(LANG, "en"), "password.weak", {"missing": missing})
    return None


async def _setup_page(request: web.Request, errors: dict[str, str], name: str = "",
                      status: int = 200) -> web.Response:
    return await render(request, "setup.html", {"errors": errors, "name": name, "policy": policy_text(request),
                                          "needs_code": not _may_set_up(request, "")}, status=status)


def _may_set_up(request: web.Request, code: str) -> bool:
    """From this machine or a trusted network, or with the setup code (gatewayd.accounts.first_run)."""
    return first_run.may_set_up(auth.client_address(request), auth.trusted_networks(request), code,
                                request.app[CONSOLE_STATE].get("setup_code"))


@pages.get("/setup", role=None, name="setup")
async def setup_form(request: web.Request) -> web.Response:
    return await _setup_page(request, {})


@pages.post("/setup", role=None)
async def setup_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password, confirm = text(form, "name", 200).strip(), text(form, "password", 256), text(form, "confirm", 256)
    if not _may_set_up(request, text(form, "setup_code", 64)):
        return await _setup_page(request, {"setup_code": t(request, "setup.code_wrong")}, name, 403)
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = t(request, "setup.name_required")
    problem = password_problem(request, password, confirm)
    if problem:
        errors["password"] = problem
    if not errors:
        try:
            user_id = await accounts.create_first_admin(request.app[keys.DB], request.app[keys.CLOCK], name,
                                                        password, language=request.get(LANG))
        except Conflict:
            # Someone else finished the first run a moment earlier: their admin stands.
            raise redirect(request, "/login") from None
        except InvalidInput as exc:
            errors = field_errors(exc, request)
        else:
            first_run.forget_code(request.app[keys.SETTINGS].storage.database)
            request.app[CONSOLE_STATE].pop("setup_code", None)
            user = await user_store.by_id(request.app[keys.DB], user_id)
            assert user is not None
            response = redirect(request, "/", "created")
            await auth.start_session(request, response, user)
            raise response
    return await _setup_page(request, errors, name, 422)


@pages.get("/login", role=None, name="login")
async def login_form(request: web.Request) -> web.StreamResponse:
    if request.get(SESSION) is not None:
        raise redirect(request, safe_next(request.query.get("next")))
    return await render(request, "login.html", {"error": None, "name": "", "next": safe_next(request.query.get("next"))})


@pages.post("/login", role=None)
async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = text(form, "name", 200), text(form, "password", 256)
    target = safe_next(text(form, "next", 500))
    result = await auth.login(request, name, password)
    if result.user is not None:
        signed_in = redirect(request, target)
        await auth.start_session(request, signed_in, result.user)
        raise signed_in
    if result.locked_for:
        minutes = max(1, (result.locked_for + 59) // 60)
        response = await render(request, "login.html", {
            "error": t(request, "login.locked", minutes=minutes), "name": name, "next": target}, status=429)
        response.headers["Retry-After"] = str(result.locked_for)
        return response
    return await render(request, "login.html", {"error": t(request, "login.failed"), "name": name, "next": target},
                        status=401)


@pages.post("/logout", role="viewer", name="logout")
async def logout(request: web.Request) -> web.StreamResponse:
    response = redirect(request, "/login", "signed_out")
    await auth.end_session(request, response)
    raise response


@pages.post("/language", role=None, name="language")
async def language(request: web.Request) -> web.StreamResponse:
    """Choose the console language: saved on the account when signed in, else in a cookie."""
    form = await request.post()
    lang = text(form, "lang", 5)
    if lang not in LANGUAGES:
        raise InvalidInput("lang", code="contact.bad_language")
    session = request.get(SESSION)
    if session is not None:
        await user_store.set_language(request.app[keys.DB], session.user.id, lang)
    response = redirect(request, safe_next(text(form, "next", 500)))
    auth.set_cookie(request, response, "gw_lang", lang, 365 * 86400)
    raise response


@pages.get("/account", role="viewer", name="account")
async def account(request: web.Request) -> web.Response:
    session = session_of(request)
    sessions = await session_store.for_user(request.app[keys.DB], session.user.id)
    return await render(request, "account.html", {"errors": {}, "sessions": sessions, "current_id": session.id,
                                                  "policy": policy_text(request), **_line_context(request)})


def _line_context(request: web.Request) -> dict[str, Any]:
    user = session_of(request).user
    return {"lines": request.app[keys.POOL].names(), "default_line": user.default_line}


@pages.post("/account/line", role="operator", name="account_line")
async def set_default_line(request: web.Request) -> web.StreamResponse:
    """The line this user writes from when they choose none (outbound's line choice rule applies it)."""
    session = session_of(request)
    form = await request.post()
    line = text(form, "line", 32) or None
    try:
        await accounts.set_default_line(request.app[keys.DB], request.app[keys.POOL].names(), session.user.id, line)
    except InvalidInput as exc:
        sessions = await session_store.for_user(request.app[keys.DB], session.user.id)
        return await render(request, "account.html", {
            "errors": field_errors(exc, request), "sessions": sessions, "current_id": session.id,
            "policy": policy_text(request), **_line_context(request)}, status=422)
    raise redirect(request, "/account", "saved")


@pages.post("/account/password", role="viewer", name="account_password")
async def change_password(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    db = request.app[keys.DB]
    form = await request.post()
    current, password, confirm = text(form, "current", 256), text(form, "password", 256), text(form, "confirm", 256)
    errors: dict[str, str] = {}
    if not await verify_password_async(session.user.password_hash, current):
        errors["current"] = t(request, "account.wrong_password")
    else:
        problem = password_problem(request, password, confirm)
        if problem:
            errors["password"] = problem
    if errors:
        sessions = await session_store.for_user(db, session.user.id)
        return await render(request, "account.html", {"errors": errors, "sessions": sessions,
                                                      "current_id": session.id, "policy": policy_text(request),
                                                      **_line_context(request)},
                            status=422)
    await user_store.set_password(db, session.user.id, await hash_password_async(password))
    # Other browsers signed in with the old password are signed out.
    await session_store.delete_for_user(db, session.user.id, except_id=session.id)
    raise redirect(request, "/account", "password_changed")


@pages.post("/account/sessions/end-others", role="viewer", name="account_end_others")
async def end_other_sessions(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    await session_store.delete_for_user(request.app[keys.DB], session.user.id, except_id=session.id)
    raise redirect(request, "/account", "saved")

"""Settings (admin only): users and roles, API keys (shown once), maintenance downloads (diagnostics
bundle, database backup); other sections as their services land."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from console.forms import path_id, text, texts
from console.render import field_errors, has_route, redirect, render, t
from console.routing import Pages
from console.state import CONSOLE_STATE, session_of
from console.views.account import password_problem, policy_text

from gatewayd import keys
from gatewayd.ops import diagnostics
from gatewayd.accounts import users as accounts
from gatewayd.accounts.apikeys import SCOPES, create_key
from gatewayd.accounts.passwords import hash_password_async
from gatewayd.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
)
from gatewayd.store import apikeys as key_store
from gatewayd.store import diagnostics as diag_store
from gatewayd.store import sessions as session_store
from gatewayd.store import users as user_store
from gatewayd.store.backup import BackupError, backup_database

pages = Pages()

# Sections of the settings page: (message key, route name). Absent routes are not shown.
SECTIONS = (
    ("settings.users", "settings_users"),
    ("settings.api_keys", "settings_api_keys"),
    ("settings.webhooks", "settings_webhooks"),
    ("settings.quiet_hours", "settings_quiet_hours"),
    ("settings.stop_words", "settings_stop_words"),
    ("settings.auto_replies", "settings_auto_replies"),
    ("settings.email", "settings_email"),
    ("settings.maintenance", "settings_maintenance"),
)


@pages.get("/settings", role="admin", name="settings")
async def settings_index(request: web.Request) -> web.Response:
    sections = [(key, name) for key, name in SECTIONS if has_route(request, name)]
    return await render(request, "settings/index.html", {"sections": sections})


async def _users_page(request: web.Request, errors: dict[str, str], values: dict[str, Any],
                      status: int = 200) -> web.Response:
    return await render(request, "settings/users.html", {
        "users": await user_store.list_all(request.app[keys.DB]), "errors": errors, "values": values,
        "roles": accounts.ROLES, "policy": policy_text(request)}, status=status)


@pages.get("/settings/users", role="admin", name="settings_users")
async def users(request: web.Request) -> web.Response:
    return await _users_page(request, {}, {"name": "", "role": "operator"})


@pages.post("/settings/users", role="admin")
async def add_user(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    values = {"name": text(form, "name", 200).strip(), "role": text(form, "role", 10)}
    password, confirm = text(form, "password", 256), text(form, "confirm", 256)
    problem = password_problem(request, password, confirm)
    if problem:
        return await _users_page(request, {"password": problem}, values, 422)
    try:
        await accounts.create_user(request.app[keys.DB], request.app[keys.CLOCK], values["name"], password,
                                   values["role"])
    except (InvalidInput, Conflict) as exc:
        return await _users_page(request, field_errors(exc, request), values, 422)
    raise redirect(request, "/settings/users", "created")


async def _user(request: web.Request) -> Any:
    user = await user_store.by_id(request.app[keys.DB], path_id(request))
    if user is None:
        raise NotFound(code="user.not_found")
    return user


@pages.post("/settings/users/{id:\\d+}", role="admin", name="settings_user")
async def change_user(request: web.Request) -> web.StreamResponse:
    """Change a user's role and whether the account is enabled (never the last enabled admin)."""
    user = await _user(request)
    form = await request.post()
    role = text(form, "role", 10)
    if role not in accounts.ROLES:
        raise InvalidInput("role", code="user.bad_role", roles=", ".join(accounts.ROLES))
    disabled = text(form, "enabled", 5) != "on"
    now = request.app[keys.CLOCK].now()
    ok = await user_store.set_role_and_state(request.app[keys.DB], user.id, role=role,
                                             disabled_at=(user.disabled_at or now) if disabled else None)
    if not ok:
        return await _users_page(request, {"": t(request, "settings.last_admin")}, {"name": "", "role": "operator"},
                                 409)
    if disabled or role != user.role:
        # A demoted or disabled user starts again from the sign-in page with the new rights.
        await session_store.delete_for_user(request.app[keys.DB], user.id,
                                            except_id=session_of(request).id if user.id == session_of(request).user.id
                                            else None)
    raise redirect(request, "/settings/users", "saved")


@pages.post("/settings/users/{id:\\d+}/password", role="admin", name="settings_user_password")
async def reset_password(request: web.Request) -> web.StreamResponse:
    user = await _user(request)
    form = await request.post()
    password, confirm = text(form, "password", 256), text(form, "confirm", 256)
    problem = password_problem(request, password, confirm)
    if problem:
        return await _users_page(request, {f"password-{user.id}": problem}, {"name": "", "role": "operator"}, 422)
    await user_store.set_password(request.app[keys.DB], user.id, await hash_password_async(password))
    await session_store.delete_for_user(request.app[keys.DB], user.id,
                                        except_id=session_of(request).id if user.id == session_of(request).user.id
                                        else None)
    raise redirect(request, "/settings/users", "password_changed")


async def _keys_page(request: web.Request, errors: dict[str, str], new_key: Any = None,
                     status: int = 200) -> web.Response:
    return await render(request, "settings/api_keys.html", {
        "api_keys": await key_store.list_all(request.app[keys.DB]), "scopes": SCOPES, "errors": errors,
        "new_key": new_key}, status=status)


@pages.get("/settings/api-keys", role="admin", name="settings_api_keys")
async def api_keys(request: web.Request) -> web.Response:
    return await _keys_page(request, {})


@pages.post("/settings/api-keys", role="admin")
async def create_api_key(request: web.Request) -> web.Response:
    """Create a key and show it on this one response only (it is stored hashed)."""
    form = await request.post()
    try:
        key = await create_key(request.app[keys.DB], request.app[keys.CLOCK], text(form, "name", 200),
                               set(texts(form, "scopes", 10)))
    except InvalidInput as exc:
        return await _keys_page(request, field_errors(exc, request), status=422)
    return await _keys_page(request, {}, key, status=201)


@pages.post("/settings/api-keys/{id:\\d+}/revoke", role="admin", name="settings_api_key_revoke")
async def revoke_api_key(request: web.Request) -> web.StreamResponse:
    await request.app[keys.API_KEYS].revoke(path_id(request), request.app[keys.CLOCK].now())
    raise redirect(request, "/settings/api-keys", "revoked")


# ------------------------------------------------------------------ maintenance: diagnostics and backup

BACKUP_CHUNK = 256 * 1024
_BACKUP_LOCK = "console.backup_lock"  # one copy at a time: each needs the database's size on disk


@pages.get("/settings/maintenance", role="admin", name="settings_maintenance")
async def maintenance(request: web.Request) -> web.Response:
    db = request.app[keys.DB]
    async with db.read() as conn:
        facts = await diag_store.database_facts(conn, db.path)
    return await render(request, "settings/maintenance.html", {"db": facts})


def _stamp(request: web.Request) -> str:
    return str(request.app[keys.CLOCK].now().strftime("%Y%m%d-%H%M%S"))


@pages.get("/settings/maintenance/diagnostics.json", role="admin", name="settings_diagnostics")
async def diagnostics_download(request: web.Request) -> web.Response:
    """The diagnostics bundle as a JSON attachment (same content as GET /api/v1/diagnostics)."""
    bundle = await diagnostics.gather(request.app)
    return web.Response(body=json.dumps(bundle, indent=2, ensure_ascii=False).encode(), headers={
        "Content-Type": "application/json; charset=utf-8",
        "Content-Disposition": f'attachment; filename="gatewayd-diagnostics-{_stamp(request)}.json"'})


@pages.get("/settings/maintenance/backup.db", role="admin", name="settings_backup")
async def backup_download(request: web.Request) -> web.StreamResponse:
    """A consistent, integrity-checked copy of the live database, streamed as an attachment.

    Reading does not change anything, so it is a GET like the contacts export. The copy is written
    beside the database (a Pi's /tmp may be RAM), opened, then removed before streaming starts, so it
    is gone whatever happens to the download."""
    lock = request.app[CONSOLE_STATE].setdefault(_BACKUP_LOCK, asyncio.Lock())
    if lock.locked():
        raise TooManyRequests(t(request, "maintenance.backup_busy"), 5)
    async with lock:
        source = request.app[keys.DB].path
        try:
            workdir = Path(tempfile.mkdtemp(prefix=".backup-", dir=source.parent))
        except OSError as exc:
            raise ServiceUnavailable(code="backup.cannot_write", path=str(source), reason=exc.strerror or "") from None
        try:
            result = await asyncio.to_thread(backup_database, source, workdir / "copy.db")
            handle = await asyncio.to_thread(open, result.path, "rb")  # closed below, after the stream
        except BackupError as exc:
            raise (ServiceUnavailable(problems=[exc.problem]) if exc.problem else ServiceUnavailable(str(exc))) from None
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        with handle:
            response = web.StreamResponse(headers={
                "Content-Type": "application/vnd.sqlite3",
                "Content-Length": str(result.size_bytes),
                "Content-Disposition": f'attachment; filename="gatewayd-{_stamp(request)}.db"'})
            await response.prepare(request)
            while chunk := await asyncio.to_thread(handle.read, BACKUP_CHUNK):
                await response.write(chunk)
            await response.write_eof()
    return response

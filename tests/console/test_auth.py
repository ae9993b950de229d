"""Sign-in, first run, sessions, CSRF, rate limits, roles and security headers over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gatewayd import keys
from gatewayd.store import users as user_store

from .conftest import PASSWORD, Console, ConsoleFactory, add_user


async def test_first_run_sends_every_page_to_admin_creation(console: Console) -> None:
    for path in ("/", "/login", "/account", "/no/such/page"):
        resp = await console.client.get(path, allow_redirects=False)
        assert resp.status == 303, path
        assert resp.headers["Location"] == "/setup"
    status, body = await console.get("/setup")
    assert status == 200 and 'name="password"' in body


async def test_setup_refuses_weak_password_then_creates_admin_and_signs_in(console: Console) -> None:
    await console.get("/setup")
    status, body, _ = await console.post("/setup", {"name": "boss", "password": "short", "confirm": "short"})
    assert status == 422
    assert "upper-case" in body or "majuscule" in body
    assert await user_store.count(console.app[keys.DB]) == 0
    status, _, resp = await console.post("/setup", {"name": "boss", "password": PASSWORD, "confirm": PASSWORD})
    assert status == 303 and resp.cookies["gw_session"]["httponly"]
    status, body = await console.get("/")
    assert status == 200 and "boss" in body
    user = await user_store.by_name(console.app[keys.DB], "boss")
    assert user is not None and user.role == "admin"
    # Once an admin exists the first-run page is gone.
    resp = await console.client.get("/setup", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"] == "/login"


async def test_setup_from_the_lan_needs_the_code_the_daemon_wrote(console_factory: ConsoleFactory,
                                                                  tmp_path: Path) -> None:
    """Issue 14: until the first admin exists, /setup is not open to the whole LAN. The test client
    is on loopback; a trusted proxy there names the real (LAN) client in X-Forwarded-For."""
    console = await console_factory(console={"trusted_proxies": ["127.0.0.1/32"],
                                             "trusted_networks": ["10.9.0.0/16"]})
    code_file = tmp_path / "setup-code"
    code = code_file.read_text().strip()
    assert len(code) >= 8 and oct(code_file.stat().st_mode & 0o777) == "0o600"
    lan, trusted = {"X-Forwarded-For": "192.168.1.66"}, {"X-Forwarded-For": "10.9.3.4"}
    status, body = await console.get("/setup", headers=lan)
    assert status == 200 and 'name="setup_code"' in body
    assert 'name="setup_code"' not in (await console.get("/setup", headers=trusted))[1]
    assert 'name="setup_code"' not in (await console.get("/setup"))[1]  # this machine
    form = {"name": "boss", "password": PASSWORD, "confirm": PASSWORD}
    for wrong in ({}, {"setup_code": ""}, {"setup_code": "0" * len(code)}):
        status, body, _ = await console.post("/setup", {**form, **wrong}, headers=lan)
        assert status == 403 and ("Wrong or missing setup code" in body or "Code d’installation absent" in body)
    assert await user_store.count(console.app[keys.DB]) == 0
    status, _, _ = await console.post("/setup", {**form, "setup_code": f" {code.upper()} "}, headers=lan)
    assert status == 303
    assert await user_store.count(console.app[keys.DB]) == 1 and not code_file.exists()


async def test_two_browsers_racing_the_first_run_make_one_admin(console_factory: ConsoleFactory) -> None:
    a, b = await console_factory(), await console_factory()
    await a.get("/setup")
    await b.get("/setup")
    results = await asyncio.gather(
        a.post("/setup", {"name": "first", "password": PASSWORD, "confirm": PASSWORD}),
        b.post("/setup", {"name": "second", "password": PASSWORD, "confirm": PASSWORD}))
    users = await user_store.list_all(a.app[keys.DB])
    assert len(users) == 1 and users[0].role == "admin"
    locations = sorted(r[2].headers["Location"] for r in results)
    assert locations == ["/?done=created", "/login"]


async def test_login_cookie_flags_logout_and_pages_need_a_session(console: Console) -> None:
    await add_user(console, "admin", "admin")
    resp = await console.client.get("/account", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login?next=")
    resp = await console.login("admin")
    cookie = resp.cookies["gw_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == 12 * 3600
    status, _ = await console.get("/account")
    assert status == 200
    await console.logout()
    resp = await console.client.get("/account", allow_redirects=False)
    assert resp.status == 303 and resp.headers["Location"].startswith("/login")


async def test_wrong_password_is_refused_without_saying_which_part(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await console.get("/login")
    status, body, _ = await console.post("/login", {"name": "admin", "password": "Wrong-pass-1"})
    assert status == 401 and ("Wrong user name or password" in body or "incorrect" in body)
    status, body2, _ = await console.post("/login", {"name": "nobody", "password": "Wrong-pass-1"})
    assert status == 401


async def test_idle_and_absolute_session_expiry(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await console.login("admin")
    console.clock.advance(59 * 60)          # idle limit is 60 min: still in
    assert (await console.client.get("/account", allow_redirects=False)).status == 200
    console.clock.advance(61 * 60)          # 61 min idle
    assert (await console.client.get("/account", allow_redirects=False)).status == 303
    await console.login("admin")
    for _ in range(14):                     # busy for 12.8 h, never idle: the absolute limit ends it
        console.clock.advance(55 * 60)
        await console.client.get("/account", allow_redirects=False)
    assert (await console.client.get("/account", allow_redirects=False)).status == 303


async def test_csrf_less_and_cross_site_posts_are_refused(admin: Console) -> None:
    status, body, _ = await admin.post("/account/sessions/end-others", csrf=False)
    assert status == 403 and ("security token" in body or "jeton" in body)
    status, _, _ = await admin.post("/account/sessions/end-others", [("_csrf", "forged")], csrf=False)
    assert status == 403
    status, _, _ = await admin.post("/account/sessions/end-others", headers={"Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = await admin.post("/account/sessions/end-others")
    assert status == 303
    # Sign-in itself needs the pre-session token too (login CSRF).
    other = Console(admin.client, admin.app, admin.clock)
    admin.client.session.cookie_jar.clear()
    status, _, _ = await other.post("/login", {"name": "admin", "password": PASSWORD}, csrf=False)
    assert status == 403


async def test_login_rate_limited_per_user_then_per_address(console_factory: ConsoleFactory) -> None:
    c = await console_factory(console={"login_max_per_user": 3, "login_max_per_address": 5})
    await add_user(c, "admin", "admin")
    await c.get("/login")
    for _ in range(3):
        status, _, _ = await c.post("/login", {"name": "admin", "password": "Bad-guess-1"})
        assert status == 401
    status, body, resp = await c.post("/login", {"name": "admin", "password": PASSWORD})
    assert status == 429 and int(resp.headers["Retry-After"]) > 0   # even the right password waits
    status, _, _ = await c.post("/login", {"name": "someone", "password": "Bad-guess-1"})
    assert status == 401
    status, _, _ = await c.post("/login", {"name": "another", "password": "Bad-guess-1"})
    assert status == 401                                              # 5th failure from this address
    status, _, _ = await c.post("/login", {"name": "third", "password": "Bad-guess-1"})
    assert status == 429
    c.clock.advance(16 * 60)                                         # the window passes
    status, _, _ = await c.post("/login", {"name": "admin", "password": PASSWORD})
    assert status == 303


async def test_roles_are_enforced_on_views(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await add_user(console, "vera", "viewer")
    await console.login("vera")
    status, body = await console.get("/")
    assert status == 200
    assert 'data-nav="settings"' not in body
    resp = await console.client.get("/settings/users", allow_redirects=False)
    assert resp.status in (403, 404)


async def test_security_headers_on_pages_static_and_errors(admin: Console) -> None:
    for path in ("/", "/static/console.css", "/no/such/page", "/login"):
        resp = await admin.client.get(path, allow_redirects=False)
        csp = resp.headers.get("Content-Security-Policy", "")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, path
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "same-origin"
    resp = await admin.client.get("/no/such/page")
    assert resp.status == 404 and "text/html" in resp.headers["Content-Type"]


async def test_every_console_route_declares_its_access(admin: Console) -> None:
    from console.routing import access_of
    from console.security import is_console_path

    checked = 0
    for route in admin.app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if not is_console_path(path) or path.startswith("/static"):  # the APIs, compatible ones included
            continue
        assert access_of(route.handler) is not None, path
        checked += 1
    assert checked >= 5


async def test_password_change_signs_out_other_browsers(console_factory: ConsoleFactory) -> None:
    a, b = await console_factory(), await console_factory()
    await add_user(a, "admin", "admin")
    await a.login("admin")
    await b.login("admin")
    await a.get("/account")
    new = "Another-Pass-7"
    status, body, _ = await a.post("/account/password", {"current": "nope", "password": new, "confirm": new})
    assert status == 422
    status, _, _ = await a.post("/account/password", {"current": PASSWORD, "password": new, "confirm": new})
    assert status == 303
    assert (await a.client.get("/account", allow_redirects=False)).status == 200
    assert (await b.client.get("/account", allow_redirects=False)).status == 303


async def test_after_sign_in_only_local_paths_are_followed(console: Console) -> None:
    await add_user(console, "admin", "admin")
    for target, expected in (("/contacts?q=a", "/contacts?q=a"), ("//evil.example/x", "/"),
                             ("https://evil.example/", "/"), ("/\t/evil.example", "/"), ("/\\evil.example", "/")):
        console.client.session.cookie_jar.clear()
        await console.get("/login")
        status, _, resp = await console.post("/login", {"name": "admin", "password": PASSWORD, "next": target})
        assert status == 303 and resp.headers["Location"] == expected, target

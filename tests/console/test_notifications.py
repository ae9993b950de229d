"""Notifications (alerts acknowledged by a user, badge and banner) and Settings › E-mail with its
"send a test e-mail" button, against a real SMTP server."""

from __future__ import annotations

from tests.alerts.kit import mailbox

from gatewayd import keys

from .conftest import PASSWORD, ConsoleFactory, add_user


async def test_test_email_button_reports_success_and_the_servers_failure(console_factory: ConsoleFactory) -> None:
    async with mailbox() as box:
        console = await console_factory(email={"host": "127.0.0.1", "port": box.port, "timeout_seconds": 5.0},
                                        site={"language": "en"})
        await add_user(console, "admin", "admin")
        await console.login("admin")
        status, page = await console.get("/settings/email", headers={"Accept-Language": "en"})
        assert status == 200 and f"127.0.0.1:{box.port}</code> (no encryption)" in page and "Send the test e-mail" in page
        status, page, _ = await console.post("/settings/email/test", {"to": "it@example.test"})
        assert status == 200 and "The server accepted the test e-mail for it@example.test." in page, page
        ((_, message, rcpts),) = box.messages
        assert rcpts == ["it@example.test"] and message["Subject"] == "[gatewayd] Test e-mail"

        status, page, _ = await console.post("/settings/email/test", {"to": "not an address"})
        assert status == 422 and "is not an e-mail address" in page
        box.stop()  # the server goes away: the page says why the test failed
        status, page, _ = await console.post("/settings/email/test", {"to": "it@example.test"})
        assert status == 503 and "the test e-mail was not sent" in page and "Connect call failed" in page
        status, page = await console.get("/settings/email")
        assert 'id="email-last-error"' in page and len(box.messages) == 1


async def test_alerts_show_as_banner_and_badge_until_acknowledged(console_factory: ConsoleFactory) -> None:
    console = await console_factory(site={"language": "fr"})
    await add_user(console, "admin", "admin")
    await add_user(console, "lea", "viewer")
    await console.login("admin")
    service = console.app[keys.ALERTS]
    await service.open("campaign_paused", "9@1", {"campaign_id": 9, "name": "<script>alert(1)</script>",
                                                  "reason": "40 % d'échecs"}, event=True)
    await service.tick()
    headers = {"Accept-Language": "fr"}
    status, page = await console.get("/", headers=headers)
    assert status == 200 and "1 alerte non lue : voir Notifications" in page and "data-unread-alerts>1<" in page
    status, page = await console.get("/notifications", headers=headers)
    assert "mise en pause automatiquement" in page and "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # an SMS-borne name never runs in the console
    status, _, resp = await console.post("/notifications/acknowledge", {})
    assert status == 303
    status, page = await console.get("/notifications", headers=headers)
    assert "vu par console admin" in page and "alerte non lue" not in page and "data-unread-alerts" not in page
    # A viewer reads the notifications but cannot acknowledge them.
    await console.logout()
    await console.login("lea", PASSWORD)
    status, page = await console.get("/notifications", headers=headers)
    assert status == 200 and "Tout marquer comme vu" not in page
    status, _, _ = await console.post("/notifications/acknowledge", {"id": "1"})
    assert status == 403


async def test_an_open_incident_is_reminded_once_per_period_then_resolved(console_factory: ConsoleFactory) -> None:
    console = await console_factory(email={"host": "127.0.0.1", "port": 9}, site={"language": "en"},
                                    alerts={"email": ["it@example.test"], "reminder_minutes": 60})
    service, db, clock = console.app[keys.ALERTS], console.app[keys.DB], console.clock
    await service.stop()  # the test drives the checks itself, on its own clock

    async def subjects() -> list[str]:
        async with db.read() as conn, conn.execute("SELECT subject FROM email_outbox ORDER BY id") as cur:
            return [r[0] for r in await cur.fetchall()]

    params = {"line": "line1", "amount": "1.00", "threshold": "5.00"}
    await service.set_condition("balance_low", "line1", params, True)
    await service.set_condition("balance_low", "line1", params, True)  # the same incident: nothing new
    clock.advance(59 * 60)
    await service.tick()
    assert [s.split(":")[0] for s in await subjects()] == ["[gatewayd] ALERT"]
    clock.advance(2 * 60)
    await service.tick()
    await service.tick()
    assert [s.split(":")[0] for s in await subjects()] == ["[gatewayd] ALERT", "[gatewayd] REMINDER"]
    await service.set_condition("balance_low", "line1", {**params, "amount": "20.00"}, False)
    assert (await subjects())[-1] == "[gatewayd] RECOVERED: The balance of line line1 is back up: €20.00."


async def test_the_banner_names_the_page_as_the_menu_does(console_factory: ConsoleFactory) -> None:
    """QA walk-through: the French banner said "voir Notifications" while the menu and the page's
    title said "Alertes", so there was no "Notifications" to find."""
    import re

    console = await console_factory(site={"language": "fr"})
    await add_user(console, "admin", "admin")
    await console.login("admin")
    await console.app[keys.ALERTS].open("campaign_completed", "1", {"campaign_id": 1, "name": "Soldes"}, event=True)
    await console.app[keys.ALERTS].tick()
    for language in ("fr", "en"):
        status, page = await console.get("/", headers={"Accept-Language": language})
        menu = re.search(r'data-nav="notifications">([^<]+?)\s*<', page)
        banner = re.search(r'class="notice warn alert-banner"[^>]*><a href="/notifications">([^<]+)<', page)
        assert status == 200 and menu and banner, page
        assert banner.group(1).rstrip().endswith(menu.group(1).strip()), (banner.group(1), menu.group(1))
        status, page = await console.get("/notifications", headers={"Accept-Language": language})
        assert f"<h1>{menu.group(1).strip()}</h1>" in page

"""The console in a real browser (Debian's chromium via Playwright) against the daemon on simulated lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.store import optouts
from gatewayd.store import threads as thread_store

from .browserkit import (
    PASSWORD,
    SAYS_STOP,
    THANKS,
    Box,
    browser_page,
    create_admin,
    needs_chromium,
    running_box,
    shot,
    sign_in,
)

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(180)]



def no_script_errors(box: Box) -> None:
    """No CSP violation and no script error happened in any page of the test."""
    bad = [e for e in box.console_errors if "Content Security Policy" in e or e.startswith("pageerror")]
    assert bad == []


async def test_first_run_admin_creation_login_logout(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="fr-FR") as page:
        await page.goto(box.url + "/")
        assert page.url == box.url + "/setup"
        await shot(page, "01-setup")
        # A weak password is refused with the policy named, in French (browser language).
        await page.fill("input[name=name]", "admin")
        await page.fill("input[name=password]", "faible")
        await page.fill("input[name=confirm]", "faible")
        await page.click("#setup-form button[type=submit]")
        assert "majuscule" in await page.inner_text(".field-error")
        await page.fill("input[name=password]", PASSWORD)
        await page.fill("input[name=confirm]", PASSWORD)
        await page.click("#setup-form button[type=submit]")
        await page.wait_for_url(box.url + "/?done=created")
        assert await page.inner_text("h1") == "Tableau de bord"
        await page.click("button:has-text('Se déconnecter')")
        await page.wait_for_url("**/login?done=signed_out")
        await page.fill("input[name=name]", "admin")
        await page.fill("input[name=password]", "Wrong-pass-1")
        await page.click("#login-form button[type=submit]")
        assert "incorrect" in await page.inner_text("[role=alert]")
        await shot(page, "02-login")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("#login-form button[type=submit]")
        await page.wait_for_url(box.url + "/")
        cookies = await page.context.cookies()
        session = next(c for c in cookies if c["name"] == "gw_session")
        assert session["httpOnly"] and session["sameSite"] == "Lax"
        no_script_errors(box)


async def test_send_an_sms_and_see_it_delivered_live(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="en-GB") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/sms/new")
        await page.fill("#recipient-input", "06 12 00 00 01")
        await page.press("#recipient-input", "Enter")
        assert await page.locator("#recipient-chips .chip").count() == 1
        await page.fill("#sms-text", "Bonjour, votre commande est arrivée €")
        counter = await page.inner_text("#sms-counter")
        assert "GSM-7" in counter and "37 characters" in counter and "1 SMS" in counter
        await page.fill("#sms-text", "Bonjour, votre commande est prête")     # ê is not GSM-7
        counter = await page.inner_text("#sms-counter")
        assert "UCS-2" in counter and "ê" in counter
        await page.fill("#sms-text", "Bonjour, votre commande est arrivée")
        await shot(page, "03-new-sms")
        await page.click("#send-button")
        await page.wait_for_url("**/sent/*")
        # The detail page polls: the state turns to delivered without a reload.
        await page.wait_for_selector("#message-state .state-delivered", timeout=20_000)
        assert box.network.received_by(THANKS)[0].text == "Bonjour, votre commande est arrivée"
        await shot(page, "04-message-delivered")
        await page.goto(box.url + "/sent?q=commande")
        assert "commande est arrivée" in await page.inner_text("table.list")
        await shot(page, "05-sent")
        # This month's export of the same search, with the dates the form proposes.
        await page.click("details.export > summary")
        async with page.expect_download() as download_info:
            await page.click("details.export button[type=submit]")
        export = Path(await (await download_info.value).path()).read_text("utf-8-sig").splitlines()
        assert len(export) == 2 and "Bonjour, votre commande est arrivée" in export[1] and ";delivered;" in export[1]
        await page.goto(box.url + "/")
        assert await page.inner_text("#sent-today") == "1"
        await shot(page, "06-dashboard")
        no_script_errors(box)


async def test_inbound_appears_live_in_discussions_script_is_text_and_reply(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box) as page:
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        await create_admin(page, box)
        await page.goto(box.url + "/discussions")
        evil = "<script>alert('pwned')</script><img src=x onerror=alert(2)> Bonjour"
        await box.modems[0].deliver_sms("+33655000104", evil)
        item = page.locator("#threads li[data-thread-id]")
        await item.first.wait_for(timeout=20_000)              # appeared without a reload
        assert "<script>alert('pwned')</script>" in await item.first.inner_text()
        await shot(page, "07-discussions")
        await item.first.locator("a").click()
        await page.wait_for_url("**/discussions/*")
        bubble = page.locator(".conversation .bubble.in").first
        assert (await bubble.inner_text()).startswith("<script>alert('pwned')</script><img src=x")
        assert await page.locator(".conversation script, .conversation img").count() == 0
        await box.modems[0].deliver_sms("+33655000104", "Vous êtes ouverts samedi ?")
        await page.locator(".bubble.in:has-text('samedi')").wait_for(timeout=20_000)
        await page.fill("#reply-text", "Oui, de 9 h à 12 h.")
        assert "GSM-7" in await page.inner_text("#reply-counter")
        await page.click("#reply-form button[type=submit]")
        await page.locator(".bubble.out:has-text('de 9 h à 12 h')").wait_for()
        await box.until(lambda: box.network.received_by("+33655000104"), 20, "reply delivered to the phone")
        assert box.network.received_by("+33655000104")[0].text == "Oui, de 9 h à 12 h."
        await page.locator(".bubble.out .state-delivered").wait_for(timeout=20_000)
        await shot(page, "08-conversation")
        assert dialogs == []
        no_script_errors(box)


CSV = ("Nom;Prénom;Mobile;Ville\n"
       "Martin;Léa;06 11 22 33 44;Lyon\n"
       "Bernard;Hugo;+33622334455;Paris\n"
       "=HYPERLINK(\"x\");<b>Evil</b>;0633445566;Nice\n"
       "Bad;Row;123;Nice\n").encode()


async def test_import_a_csv_through_the_wizard(tmp_path: Path) -> None:
    source = tmp_path / "clients.csv"
    source.write_bytes(CSV)
    async with running_box(tmp_path) as box, browser_page(box, locale="en-GB") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/imports")
        await page.set_input_files("#upload-form input[type=file]", str(source))
        await page.click("#upload-form button[type=submit]")
        await page.wait_for_url("**/imports/*")
        assert await page.inner_text("#valid-count") == "3"
        assert "<b>Evil</b>" in await page.inner_text("table.mapping")
        await shot(page, "09-import-analysis")
        await page.click("#to-options")
        await page.fill("input[name=new_group]", "Clients 2026")
        await page.check("input[name=certified]")
        await shot(page, "10-import-options")
        await page.click("#options-form button[type=submit]")
        await page.click("#commit-form button[type=submit]")
        await page.wait_for_url("**/imports/*?done=imported")
        assert await page.inner_text("#created-count") == "3"
        await shot(page, "11-import-report")
        await page.goto(box.url + "/contacts")
        text = await page.inner_text("table.contacts")
        assert "Léa Martin" in text and "<b>Evil</b>" in text and "06 33 44 55 66" in text
        await shot(page, "12-contacts")
        no_script_errors(box)


async def test_campaign_created_previewed_run_and_paused(tmp_path: Path) -> None:
    numbers = [f"+336130000{i:02d}" for i in range(30)]
    async with running_box(tmp_path, latency=0.15) as box, browser_page(box, locale="fr-FR") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/campaigns/new")
        await page.fill("input[name=name]", "Soldes d'hiver")
        await page.fill("input[name=tag]", "soldes")
        await page.fill("#new-text", "Soldes -20% ce week-end")
        assert "GSM-7" in await page.inner_text("#campaign-counter")
        await page.fill("textarea[name=numbers]", "\n".join(numbers + [SAYS_STOP, "123"]))
        await shot(page, "13-campaign-new")
        await page.click("#campaign-form button[type=submit]")
        await page.wait_for_url("**/campaigns/*/preview")
        assert await page.inner_text("#preview-recipients") == "31"
        assert "Soldes -20% ce week-end" in await page.inner_text("table.list")
        await shot(page, "14-campaign-preview")
        await page.check("input[name=confirm]")
        await page.click("#schedule-form button[type=submit]")
        await page.wait_for_url("**/campaigns/*?done=campaign_launched")
        campaign_id = int(page.url.split("/campaigns/")[1].split("?")[0])
        await box.until(lambda: len(box.network.received) >= 3, 30, "the first campaign SMS")
        await page.click("button:has-text('Mettre en pause')")
        await page.wait_for_url("**?done=campaign_paused")
        await page.locator("#campaign-state .state-paused").wait_for()
        campaign = await box.app[keys.CAMPAIGNS].get(campaign_id)
        assert campaign.state == "paused"
        sent_at_pause = len(box.network.received)
        await shot(page, "15-campaign-paused")
        assert sent_at_pause < 31
        # The report as a person downloads it: one row per recipient, those not sent yet say so.
        async with page.expect_download() as download_info:
            await page.click("a:has-text('Rapport par destinataire (CSV)')")
        download = await download_info.value
        assert download.suggested_filename == f"campaign-{campaign_id}-recipients.csv"
        report = (Path(await download.path())).read_text("utf-8-sig").splitlines()
        assert report[0].startswith("Numéro;Nom;Prénom;Résultat;Motif")
        assert len(report) == 1 + 31 + 1 and report[-1].startswith("123;;;écarté : numéro non valide;")
        assert sum(";pas encore envoyé;" in row for row in report) >= 31 - sent_at_pause - 3  # (window in flight)
        no_script_errors(box)


async def test_stop_reply_appears_in_the_stop_list(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="en-GB") as page:
        await create_admin(page, box)
        await page.goto(box.url + f"/sms/new?to={SAYS_STOP}")
        await page.fill("#sms-text", "Promo de printemps")
        await page.check("input[name=category][value=marketing]")
        await page.click("#send-button")
        await page.wait_for_url("**/sent/*")

        async def opted_out() -> bool:
            async with box.app[keys.DB].read() as conn:
                return await optouts.is_opted_out(conn, SAYS_STOP)
        await box.until(opted_out, 20, "the STOP reply")
        await page.goto(box.url + "/stop-list")
        assert "06 12 00 00 02" in await page.inner_text("#optout-list")
        assert "by SMS" in await page.inner_text("#optout-history")
        await shot(page, "16-stop-list")
        # A previous provider's list, pasted: the report says what happened to each line.
        await page.click("#optout-list-add > summary")
        await page.fill("input[name=list_note]", "Old provider's STOP list")
        await page.fill("textarea[name=numbers]", f"06 98 76 54 32\n{SAYS_STOP}\nnot a number")
        await page.click("#optout-list-form button[type=submit]")
        report = await page.inner_text("#optout-list-report")
        assert "1 number added to the STOP list. 1 was on it already." in report and "not a number" in report
        assert "06 98 76 54 32" in await page.inner_text("#optout-list")
        await shot(page, "16b-stop-list-added")
        [thread] = await thread_store.listing(box.app[keys.DB])
        await page.goto(box.url + f"/discussions/{thread.id}")
        assert "STOP" in await page.inner_text(".conversation")
        no_script_errors(box)


async def test_an_administrator_opens_sunday_to_marketing_in_the_settings(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box) as page:
        await create_admin(page, box)
        await page.goto(box.url + "/settings/quiet-hours")
        assert "Valeurs du fichier de configuration" in await page.inner_text("#live-origin")
        await page.check("input[name=days][value=sun]")
        await page.fill("input[name=send_until]", "21:30")
        await page.click("#quiet-hours-form button[value=save]")
        await page.wait_for_url("**/settings/quiet-hours?done=saved")
        assert "Modifié dans la console par admin" in await page.inner_text("#live-origin")
        quiet = box.app[keys.LIVE_SETTINGS].settings.quiet_hours
        assert "sun" in quiet.days and quiet.send_until.strftime("%H:%M") == "21:30"
        await shot(page, "17-quiet-hours-changed")
        await page.goto(box.url + "/settings/stop-words")
        await page.fill("textarea[name=confirm_text]", "Vous ne recevrez plus nos offres.")
        await page.click("#stop-words-form button[value=save]")
        await page.wait_for_url("**/settings/stop-words?done=saved")
        assert box.app[keys.LIVE_SETTINGS].settings.optout.confirm_text == "Vous ne recevrez plus nos offres."
        await shot(page, "18-stop-words-changed")
        no_script_errors(box)


async def test_an_administrator_checks_the_prepaid_balance_of_a_line(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box) as page:
        box.network.ussd_answer = "Solde : 3,20 EUR <script>alert(1)</script>"  # shown as text
        await create_admin(page, box)
        await page.goto(box.url + "/lines/line1")
        await page.fill("#ussd input[name=code]", "abc")  # the browser's required check passes; ours refuses
        await page.click("#ussd button[type=submit]")
        assert "n'est pas un code USSD" in await page.inner_text("#ussd .notice.bad")
        await page.fill("#ussd input[name=code]", "*100#")
        await page.click("#ussd button[type=submit]")
        assert await page.inner_text("#ussd-answer") == "Solde : 3,20 EUR <script>alert(1)</script>"
        assert box.network.ussd_requests == [("line1", "*100#")]
        await shot(page, "19-line-balance")
        no_script_errors(box)


async def test_csrf_less_post_from_the_page_is_refused(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="en-GB") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/stop-list")
        status = await page.evaluate(
            "() => fetch('/stop-list', {method: 'POST', body: new URLSearchParams({number: '0612345678'})})"
            ".then(r => r.status)")
        assert status == 403
        with_token = await page.evaluate(
            "() => gatewaydPost('/stop-list', {number: '0612345678'}).then(r => r.status)")
        assert with_token in (200, 303)
        async with box.app[keys.DB].read() as conn:
            assert await optouts.is_opted_out(conn, "+33612345678")
        # The console may not be framed by another site.
        resp = await page.request.get(box.url + "/")
        assert resp.headers["x-frame-options"] == "DENY"


SEGMENT_TABLE = [
    "", "a", "Hello", "x" * 160, "x" * 161, "x" * 306, "x" * 307, "€" * 80, "€" * 81, "[{}]^~\\|",
    "é" * 160, "ç" + "a" * 69, "ç" + "a" * 70, "😀", "😀" * 35, "😀" * 36, "a" * 66 + "😀" + "b" * 5,
    "Ça va ? Répondez STOP au 36180", "Grüße aus Köln", "Привет", "مرحبا", "你好世界", "tab\there",
    "line\nbreak\r\n", "x" * 152 + "€", "x" * 153 + "€" + "y" * 10, "a" * 1000, "é" * 1000 + "€",
    "`backtick` is not GSM", "ÆØÅæøå ΔΦΓΛΩΠΨΣΘΞ", "\f form feed",
]


async def test_js_segment_counter_agrees_with_python(tmp_path: Path) -> None:
    from gatewayd.modem.segments import count_segments

    async with running_box(tmp_path) as box, browser_page(box) as page:
        await page.goto(box.url + "/static/console.css")     # any page of the box's origin
        await page.add_script_tag(url=box.url + "/static/segments.js")
        results = await page.evaluate("(texts) => texts.map(t => GatewaydSegments.count(t))", SEGMENT_TABLE)
    for text, js in zip(SEGMENT_TABLE, results, strict=True):
        py = count_segments(text)
        assert (js["encoding"], js["characters"], js["units"], js["segments"], js["per_segment"], js["remaining"],
                tuple(js["ucs2_forcing"])) == (py.encoding, py.characters, py.units, py.segments, py.per_segment,
                                               py.remaining, py.ucs2_forcing), repr(text)


PAGES = ["/", "/discussions", "/sms/new", "/sent", "/received", "/contacts", "/contacts/new", "/groups",
         "/imports", "/templates", "/templates/new", "/campaigns", "/campaigns/new", "/stop-list", "/calls",
         "/lines", "/lines/line1", "/settings", "/settings/users", "/settings/api-keys", "/settings/webhooks",
         "/settings/auto-replies", "/settings/quiet-hours", "/settings/stop-words", "/account"]


async def test_tour_of_every_page_desktop_and_phone(tmp_path: Path) -> None:
    """Every page renders with data, without script or CSP errors; screenshots for people to look at."""
    async with running_box(tmp_path, lines=2) as box:
        async with browser_page(box, locale="fr-FR") as page:
            await create_admin(page, box)
            await page.goto(box.url + f"/sms/new?to={THANKS}")
            await page.fill("#sms-text", "Votre rendez-vous est confirmé pour demain 10 h.")
            await page.click("#send-button")
            await page.wait_for_url("**/sent/*")
            await box.modems[0].deliver_sms("+33655000105", "Bonjour, est-ce possible de décaler à 11 h ?")
            await box.modems[1].ring("+33655000106", 2, interval=0.05)
            await box.until(lambda: box.network.received_by(THANKS), 20, "delivery")
            for path in PAGES:
                response = await page.goto(box.url + path)
                assert response is not None and response.status == 200, path
                name = "tour-desktop" + (path.replace("/", "-") if path != "/" else "-dashboard")
                await shot(page, name)
            await page.goto(box.url + "/lines/line1")
            await page.click("button:has-text('Sonder maintenant')")
            assert "865067020000001" in await page.inner_text("#probe-result")
            await shot(page, "tour-desktop-line-probe")
        async with browser_page(box, locale="en-GB", width=390, height=844) as phone:
            await sign_in(phone, box)
            for path in ("/", "/discussions", "/sms/new", "/sent", "/contacts", "/campaigns/new", "/lines"):
                await phone.goto(box.url + path)
                width = await phone.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 400, f"{path} scrolls sideways on a phone ({width}px)"
                await shot(phone, "tour-phone" + (path.replace("/", "-") if path != "/" else "-dashboard"))
            await phone.goto(box.url + "/")
            await phone.click(".menu-toggle")
            await phone.locator("#nav.open").wait_for()
            await shot(phone, "tour-phone-menu", full=False)
        no_script_errors(box)


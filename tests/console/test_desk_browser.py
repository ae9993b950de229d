"""The messaging desk walked in a real browser as an office user would, in French on a desktop
and in English on a 390 px phone: conversations holding every message, the unread badge kept
live, Received found by sender, Sent filtered and paged, why a message waits, campaigns (a past
date, a draft edited, French agreement) and the line page in words. Screenshots go to
test-artifacts/screenshots/desk-*.png."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gatewayd import keys
from gatewayd.campaigns.audience import AudienceSpec
from gatewayd.campaigns.service import NewCampaign
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import templates as template_store
from gatewayd.store import threads as thread_store

from .browserkit import SAYS_STOP, THANKS, Box, browser_page, create_admin, needs_chromium, running_box, shot, sign_in

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(240)]
PARIS = ZoneInfo("Europe/Paris")
CUSTOMER = "+33655000161"


def no_script_errors(box: Box) -> None:
    bad = [e for e in box.console_errors if "Content Security Policy" in e or e.startswith("pageerror")]
    assert bad == []


def closed_today() -> list[str]:
    """Marketing days without today: a marketing SMS queued now waits for the window."""
    today = datetime.now(PARIS).weekday()
    return [d for i, d in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun")) if i != today]


async def _draft_campaign(box: Box) -> int:
    tid = await template_store.insert(box.app[keys.DB], title="Rentrée", line=None,
                                      text="Bonjour, la rentrée arrive : -10 % en magasin.",
                                      now=box.app[keys.CLOCK].now())
    campaign, _ = await box.app[keys.CAMPAIGNS].create(NewCampaign(
        name="Rentrée", templates={"default": tid}, tag="rentree", category="transactional",
        audience=AudienceSpec(numbers=("06 12 00 00 01", "06 55 00 01 62"))))
    return campaign.id


async def test_the_desk_in_french_on_a_desktop_and_in_english_on_a_phone(tmp_path: Path) -> None:
    sections = {"quiet_hours": {"enabled": True, "days": closed_today(), "holidays": False}}
    async with running_box(tmp_path, sections=sections) as box:
        outbound = box.app[keys.OUTBOUND]
        async with browser_page(box, locale="fr-FR") as page:
            await create_admin(page, box)
            # An SMS sent by another program through the API; the customer answers it.
            [api_sms] = await outbound.submit([NewMessage(to=THANKS, text="Votre commande 4711 est prête.",
                                                          source="api", created_by="api key boutique")])
            await box.until(lambda: thread_store.listing(box.app[keys.DB]), 20, "the customer's answer")

            # Dashboard: the unread badge in the menu, the title and the tile, then kept live.
            await page.goto(box.url + "/")
            assert await page.inner_text("nav [data-unread]") == "1"
            assert (await page.title()).startswith("(1) Tableau de bord")
            assert await page.inner_text("#tile-unread .figure") == "1"
            assert "Votre commande 4711" in await page.inner_text("#latest-sent")
            assert "Merci, bien reçu" in await page.inner_text("#latest-received")
            await box.modems[0].deliver_sms(CUSTOMER, "Bonjour, vous livrez le samedi ?")
            await page.locator("nav [data-unread]:has-text('2')").wait_for(timeout=20_000)
            await page.locator("#tile-unread .figure:has-text('2')").wait_for()
            assert (await page.title()).startswith("(2) ")
            await shot(page, "desk-fr-desktop-dashboard")

            # The conversation holds the API message it answers, with its state.
            [thanks] = [t for t in await thread_store.listing(box.app[keys.DB]) if t.number == THANKS]
            await page.goto(box.url + f"/discussions/{thanks.id}")
            bubbles = page.locator(".conversation .bubble")
            assert "Votre commande 4711" in await bubbles.nth(0).inner_text()
            assert "Merci, bien reçu" in await bubbles.nth(1).inner_text()
            await page.locator(f".bubble.out[data-message-id='{api_sms.id}'] .state-delivered, "
                               ".bubble.out .state-delivered").first.wait_for(timeout=20_000)
            assert await page.inner_text("#contact-link") == "Ajouter aux contacts"
            await shot(page, "desk-fr-desktop-conversation")

            # A number that sent STOP: the banner says so.
            await outbound.submit([NewMessage(to=SAYS_STOP, text="Nouveautés de la semaine", source="api")])
            await box.until(lambda: box.app[keys.INBOUND] and _thread_of(box, SAYS_STOP), 20, "the STOP answer")
            stop_thread = await _thread_of(box, SAYS_STOP)
            await page.goto(box.url + f"/discussions/{stop_thread.id}")
            assert "STOP" in await page.inner_text("#stop-banner")
            await shot(page, "desk-fr-desktop-conversation-stop")

            # Received: the sender written the way people say it.
            await page.goto(box.url + "/received")
            await page.fill("input[name=q]", "06 55 00 01 61")
            await page.click("form[role=search] button[type=submit]")
            await page.wait_for_url("**/received?q=*")
            rows = page.locator("table.list tbody tr")
            assert await rows.count() == 1 and "samedi" in await rows.first.inner_text()
            await shot(page, "desk-fr-desktop-received-by-sender")

            # Sent: a state filter and a page size that survive the pager and go into the export.
            await outbound.submit([NewMessage(to=f"+336130001{i:02d}", text=f"Rappel {i}", source="api",
                                              send_at=datetime.now(PARIS) + timedelta(days=2)) for i in range(30)])
            await page.goto(box.url + "/sent")
            await page.select_option("select[name=state]", "scheduled")
            await page.click("form[role=search] button[type=submit]")
            await page.wait_for_url("**state=scheduled*")
            await page.select_option("select[name=size]", "25")       # applies at once
            await page.wait_for_url("**size=25*")
            assert await page.locator("tbody tr[data-message-id]").count() == 25
            assert await page.locator("select[name=state] option[selected]").get_attribute("value") == "scheduled"
            await shot(page, "desk-fr-desktop-sent-filtered")
            await page.click("a[rel=next]")
            await page.wait_for_url("**after=*")
            assert "state=scheduled" in page.url and "size=25" in page.url
            assert await page.locator("tbody tr[data-message-id]").count() == 5
            await page.click("details.export summary")
            async with page.expect_download() as download_info:
                await page.click("details.export button[type=submit]")
            exported = (Path(await (await download_info.value).path())).read_text("utf-8-sig").splitlines()
            assert len(exported) == 1 + 30 and all(";programmé;" in row for row in exported[1:])

            # Why a marketing SMS waits: the window, with its opening.
            [promo] = await outbound.submit([NewMessage(to="+33613000299", text="Promo", category=Category.MARKETING,
                                                        source="api")])
            await page.goto(box.url + f"/sent/{promo.id}")
            assert "Attend la plage d’envoi marketing" in await page.inner_text("#message-waiting")
            await shot(page, "desk-fr-desktop-message-waiting")

            # Campaigns: a past date is refused where it was typed; the draft is edited, then scheduled.
            cid = await _draft_campaign(box)
            await page.goto(box.url + f"/campaigns/{cid}")
            assert "confiés aux lignes" not in await page.inner_text("main")
            assert await page.inner_text("#planned-recipients") == "2"
            await page.goto(box.url + f"/campaigns/{cid}/preview")
            await page.check("input[name=when][value=later]")
            await page.fill("input[name=send_at]", "2020-01-06T09:00")
            await page.check("input[name=confirm]")
            await page.click("#schedule-form button[type=submit]")
            assert "cette date est passée" in await page.inner_text("#schedule-form ~ *, main")
            await shot(page, "desk-fr-desktop-campaign-past-date")
            await page.click("#edit-draft")
            await page.fill("input[name=name]", "Rentrée des classes")
            await page.click("#campaign-form button[type=submit]")
            await page.wait_for_url("**/campaigns/*/preview")
            await page.check("input[name=when][value=later]")
            await page.fill("input[name=send_at]", (datetime.now(PARIS) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
            await page.check("input[name=confirm]")
            await page.click("#schedule-form button[type=submit]")
            await page.wait_for_url("**done=campaign_scheduled")
            assert "Campagne programmée." in await page.inner_text(".notice.ok")
            assert await page.inner_text("#campaign-state") == "programmée"
            await shot(page, "desk-fr-desktop-campaign-scheduled")
            await page.goto(box.url + "/campaigns?tag=rentree")
            assert "Rentrée des classes" in await page.inner_text("table.list")
            assert await page.locator("#tag-stats").count() == 1
            await shot(page, "desk-fr-desktop-campaigns-tag")

            # The line page in words, not modem keys.
            await page.goto(box.url + "/lines/line1")
            facts = await page.inner_text("dl.facts")
            assert "Famille de modem" in facts and "dialect" not in facts
            await shot(page, "desk-fr-desktop-line")

        async with browser_page(box, locale="en-GB", width=390, height=844) as phone:
            await sign_in(phone, box)
            await phone.goto(box.url + "/account")              # the account was made in French: switch
            await phone.click(".lang-switch button[value=en]")
            await phone.wait_for_load_state()
            for path in ("/", f"/discussions/{thanks.id}", "/received?q=0655000161", "/sent?state=scheduled&size=25",
                         f"/sent/{promo.id}", f"/campaigns/{cid}", "/campaigns?tag=rentree"):
                await phone.goto(box.url + path)
                width = await phone.evaluate("() => document.documentElement.scrollWidth")
                assert width <= 400, f"{path} scrolls sideways on a phone ({width}px)"
                name = path.strip("/").split("?")[0].replace("/", "-") or "dashboard"
                await shot(phone, f"desk-en-phone-{name}")
            await phone.goto(box.url + "/")
            assert (await phone.title()).startswith("(")          # unread conversations remain
            assert "Latest received" in await phone.inner_text("#latest-received")
            await phone.goto(box.url + f"/sent/{promo.id}")
            assert "Waits for the marketing window" in await phone.inner_text("#message-waiting")
            await phone.goto(box.url + f"/campaigns/{cid}")
            assert await phone.inner_text("#campaign-state") == "scheduled"
            await phone.click(".menu-toggle")
            await phone.locator("#nav.open").wait_for()
            await shot(phone, "desk-en-phone-menu-badge", full=False)
        no_script_errors(box)


async def _thread_of(box: Box, number: str):  # type: ignore[no-untyped-def]
    found = [t for t in await thread_store.listing(box.app[keys.DB]) if t.number == number]
    return found[0] if found else None


async def test_checks_before_sending_in_english_on_a_desktop_and_french_on_a_phone(tmp_path: Path) -> None:
    from gatewayd.contacts.service import ContactInput

    async with running_box(tmp_path) as box:
        contacts, groups = box.app[keys.CONTACTS], box.app[keys.GROUPS]
        team = await groups.create("Clients Lyon", "", None)
        await groups.create("Empty group", "", None)
        members = [await contacts.create(ContactInput(n, first_name=f), "t")
                   for n, f in (("0612000001", "Anne"), ("0655000171", "Łukasz"), ("0655000172", ""))]
        await groups.change_members(team.id, [m.id for m in members], [])
        tid = await template_store.insert(box.app[keys.DB], title="Promo", line=None,
                                          text="Hello {first_name}, -20% this weekend", now=box.app[keys.CLOCK].now())
        campaign, _ = await box.app[keys.CAMPAIGNS].create(NewCampaign(
            name="Weekend", templates={"default": tid}, category="transactional",
            audience=AudienceSpec(group_ids=(team.id,))))
        async with browser_page(box, locale="en-GB") as page:
            await create_admin(page, box)
            # New SMS to a group: the empty group is greyed out, the figures are confirmed first.
            await page.goto(box.url + "/sms/new")
            await page.fill("#recipient-input", "group")
            await page.locator("ul.suggestions li.disabled").wait_for()
            assert "Empty group" in await page.inner_text("ul.suggestions li.disabled")
            await page.fill("#recipient-input", "Clients")
            await page.locator("ul.suggestions li:not(.disabled)").first.click()
            await page.fill("#sms-text", "Closed on Monday.")
            await page.click("#send-button")
            await page.locator("#sms-confirm").wait_for()
            assert "3 recipients: 3 SMS in all" in await page.inner_text("#sms-confirm")
            assert await box.app[keys.OUTBOUND].list(limit=5) == []
            await shot(page, "desk-en-desktop-new-sms-confirm")
            await page.click("#send-button")
            await page.wait_for_url("**/sent?done=sent")

            # The campaign's preview checks everyone; the launch waits for a decision.
            await page.goto(box.url + f"/campaigns/{campaign.id}/preview")
            found = await page.inner_text("#checks-found")
            assert "2 recipients have a text problem" in found
            listing = await page.inner_text("#checks-list")
            assert "empty variable: first_name" in listing and "switches to UCS-2 (characters Ł)" in listing
            await shot(page, "desk-en-desktop-campaign-checks")
            await page.check("#schedule-form input[name=confirm]")
            await page.click("#schedule-form button[type=submit]")
            assert "give the variables a default value" in await page.inner_text("main")
            await page.fill("#checks-form input[name='default.first_name']", "dear customer")
            await page.check("#checks-form input[name=exclude]")
            await page.click("#checks-form button[type=submit]")
            await page.wait_for_url("**/preview?done=saved")
            assert await page.inner_text("#preview-recipients") == "2"        # the figures follow the decision
            await page.fill("input[name=test_number]", "06 55 00 01 79")
            await page.click("#test-form button[type=submit]")
            await page.wait_for_url("**done=test_sent")
            await box.until(lambda: box.network.received_by("+33655000179"), 20, "the test reaches my phone")
            await page.check("#schedule-form input[name=confirm]")
            await page.click("#schedule-form button[type=submit]")
            await page.wait_for_url("**done=campaign_launched")
            def got(number: str, start: str) -> bool:
                return any(r.text.startswith(start) for r in box.network.received_by(number))

            await box.until(lambda: got("+33612000001", "Hello Anne, -20% this weekend"), 20, "Anne's SMS")
            await box.until(lambda: got("+33655000172", "Hello dear customer, -20%"), 20, "the defaulted customer")
            assert not got("+33655000171", "Hello")                                # Łukasz was left out
            await shot(page, "desk-en-desktop-campaign-launched")

        async with browser_page(box, locale="fr-FR", width=390, height=844) as phone:
            await sign_in(phone, box)
            await phone.goto(box.url + "/account")
            await phone.click(".lang-switch button[value=fr]")
            await phone.wait_for_load_state()
            await phone.goto(box.url + f"/campaigns/{campaign.id}/preview")
            width = await phone.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 400, f"the preview scrolls sideways on a phone ({width}px)"
            assert "1 destinataire a un texte à problème : il est écarté." in await phone.inner_text("#checks-found")
            await shot(phone, "desk-fr-phone-campaign-checks")
            await phone.goto(box.url + "/sms/new")
            await shot(phone, "desk-fr-phone-new-sms")
        no_script_errors(box)

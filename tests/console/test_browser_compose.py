"""New SMS in chromium, in French: the counter shows the STOP mention of a marketing SMS and what the
GSM-7 look-alikes save (from the server's composition), and the phone gets exactly that."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browserkit import THANKS, browser_page, create_admin, needs_chromium, running_box, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(180)]

PROMO = ("Soldes d’été à l’hôtel « Léo » : -20 % sur tout jusqu’à dimanche soir, profitez-en vite "
         "avant la fin, il n’y en aura pas pour tout le monde !")


async def test_new_sms_counts_the_mention_and_the_lookalikes(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="fr-FR") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/sms/new")
        await page.fill("#recipient-input", "06 12 00 00 01")
        await page.press("#recipient-input", "Enter")
        await page.fill("#sms-text", PROMO)
        await page.wait_for_selector("#sms-counter:has-text('UCS-2')")
        assert "3 SMS" in await page.inner_text("#sms-counter")            # 141 characters in UCS-2
        await page.check("input[name=category][value=marketing]")
        await page.wait_for_selector("#sms-counter:has-text('mention STOP')")
        assert "Répondez STOP pour vous désabonner" in await page.inner_text("#sms-counter")
        await page.check("input[name=transliterate]")
        await page.wait_for_selector("#sms-counter:has-text('économisé')")
        counter = await page.inner_text("#sms-counter")
        assert "GSM-7" in counter and "2 SMS" in counter and "1 SMS économisé" in counter, counter  # 3 -> 2
        await shot(page, "13-new-sms-mention-lookalikes")
        await page.click("#send-button")
        await page.wait_for_url("**/sent/*")
        await box.until(lambda: box.network.received_by(THANKS), 20, "the phone receives it")
        got = box.network.received_by(THANKS)[0].text
        assert got == ("Soldes d'été à l'hotel \" Léo \" : -20 % sur tout jusqu'à dimanche soir, profitez-en vite "
                       "avant la fin, il n'y en aura pas pour tout le monde !\nRépondez STOP pour vous désabonner")
        assert not box.console_errors, box.console_errors

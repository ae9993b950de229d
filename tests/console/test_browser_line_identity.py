"""Lines with an identity in chromium: a label set on the line's page is what every line choice and
every page naming a line shows, with the line's number; a user's default line is chosen on their
account page and the SMS they send without choosing a line leaves through it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd import keys

from .browserkit import THANKS, browser_page, create_admin, needs_chromium, running_box, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(180)]

WORDS = {
    "fr-FR": {"any": "Toute ligne", "mine": "Ma ligne par défaut"},
    "en-GB": {"any": "Any line", "mine": "My default line"},
}


async def _options(page: object, selector: str) -> list[str]:
    return [t.strip() for t in await page.locator(f"{selector} option").all_inner_texts()]  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["fr-FR", "en-GB"])
async def test_line_labels_and_numbers_wherever_a_line_is_chosen_or_named(tmp_path: Path, locale: str) -> None:
    async with running_box(tmp_path, lines=2) as box, browser_page(box, locale=locale) as page:
        await create_admin(page, box)
        # The admin names line2 on its page. Its SIM stores its number (+33639980002, shown in E.164:
        # not a French allocation).
        await page.goto(box.url + "/lines/line2")
        await page.fill("#identity-form input[name=label]", "SAV")
        await page.click("#identity-form button[type=submit]")
        await page.wait_for_selector("h1:has-text('SAV')")
        shown = {"line1": "line1 (+33639980001)", "line2": "SAV (+33639980002)"}
        for path in ("/sms/new", "/campaigns/new", "/templates/new", "/settings/auto-replies"):
            await page.goto(box.url + path)
            options = await _options(page, "select[name=line]")
            assert options == [WORDS[locale]["any"], shown["line1"], shown["line2"]], (path, options)
        await page.goto(box.url + "/sms/new")
        await shot(page, f"30-line-choice-{locale}")
        # A user's default line, on their account page, then a New SMS without a line choice.
        await page.goto(box.url + "/account")
        assert WORDS[locale]["mine"] in await page.inner_text("section:has(#default-line-form)")
        await page.select_option("#default-line-form select[name=line]", "line2")
        await page.click("#default-line-form button[type=submit]")
        await page.wait_for_url("**/account?done=saved")
        assert await page.locator("#default-line-form select[name=line]").input_value() == "line2"
        await shot(page, f"31-default-line-{locale}")
        await page.goto(box.url + "/sms/new")
        await page.fill("#recipient-input", "06 12 00 00 01")
        await page.press("#recipient-input", "Enter")
        await page.fill("#sms-text", "Votre commande est prête")
        await page.click("#send-button")
        await page.wait_for_url("**/sent/*")
        await box.until(lambda: box.network.received_by(THANKS), 20, "the phone receives it")
        async with box.app[keys.DB].read() as conn:
            row = await (await conn.execute("SELECT line, line_soft FROM messages ORDER BY id LIMIT 1")).fetchone()
        assert tuple(row) == ("line2", 1)
        await page.wait_for_selector("text=SAV (+33639980002)")
        await shot(page, f"32-message-line-label-{locale}")
        # The customer's answer lands in one conversation, named by the line's label.
        await box.until(lambda: any(True for _ in box.network.received_by(THANKS)), 20, "delivered")
        await page.goto(box.url + "/discussions")
        await page.wait_for_selector(".line .tag:has-text('SAV')")
        await page.click(".line .tag:has-text('SAV')")
        await page.wait_for_selector("h1 .tag:has-text('SAV (+33639980002)')")
        await shot(page, f"33-thread-line-label-{locale}")
        assert not box.console_errors, box.console_errors

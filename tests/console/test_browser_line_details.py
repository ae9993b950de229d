"""A line's page in chromium names its modem details in the page's language (QA walk-through:
'dialect', 'cnmi', 'reports: direct', 'creg' were shown raw on a French page)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .browserkit import browser_page, create_admin, needs_chromium, running_box, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(120)]


@pytest.mark.parametrize("locale, expected", [
    ("fr-FR", ["Accusés de réception", "directs, non gardés par le modem", "Famille de modem", "Centre SMS (SMSC)"]),
    ("en-GB", ["Delivery reports", "direct, not kept by the modem", "Modem family", "SMS centre (SMSC)"]),
])
async def test_a_line_names_its_details_in_the_page_language(tmp_path: Path, locale: str,
                                                             expected: list[str]) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale=locale) as page:   # line1: a SIM800
        await create_admin(page, box)
        await page.goto(box.url + "/lines/line1")
        labels = await page.locator("section.card dl.facts dt").all_inner_texts()
        shown = await page.inner_text("section.card dl.facts")
        for words in expected:
            assert words in shown, shown
        raw = {"dialect", "smsc", "cnmi", "reports", "storage", "creg", "cgreg", "cereg"}
        assert not raw & {label.strip() for label in labels}, labels
        await shot(page, f"20-line-details-{locale}")

"""A message's page on a 390 px phone, in French (QA walk-through): the parts' table must keep its
column names once stacked, the times say what they are ("Envoyé le", not the bare state "envoyé")
and a delivery report says what it means, not only its TP-ST code ("statut 0x00")."""

from __future__ import annotations

from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.outbound.compose import Draft

from .browserkit import THANKS, browser_page, create_admin, needs_chromium, running_box, shot

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(120)]


async def test_a_delivered_message_reads_well_on_a_phone(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="fr-FR", width=390, height=844) as page:
        await create_admin(page, box)
        outbound = box.app[keys.OUTBOUND]
        rows = await outbound.submit_draft(Draft(recipients=[THANKS], text="é" * 150 + "€" * 20, source="console"))

        async def delivered() -> bool:
            return (await outbound.get(rows[0].id)).message.state == "delivered"

        await box.until(delivered, 20, "the message is delivered")
        await page.goto(box.url + f"/sent/{rows[0].id}")
        facts = await page.locator("dl.facts").first.inner_text()
        assert "Envoyé le" in facts and "Remis le" in facts, facts
        parts = page.locator("table.list tbody tr")
        assert await parts.count() == 2
        first = await parts.first.inner_text()
        assert "reçu par le téléphone (statut 0x00)" in first, first
        # Stacked on a phone, each cell shows its column's name before it (the header row is hidden).
        labels = await parts.first.locator("td").evaluate_all(
            "cells => cells.map(c => getComputedStyle(c, '::before').content)")
        assert labels[2:] == ['"Ligne "', '"Référence (TP-MR) "', '"Accusé de réception "'], labels
        await shot(page, "21-message-parts-phone")

"""Issue 19 in a real chromium: a legacy .xls with a title row imported in French (header row found,
title listed as skipped, rejected lines offered), then a campaign whose template variables are
mapped to the file's columns in English."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contacts.test_office_models import as_xls, model_2_rows

from .browserkit import browser_page, create_admin, needs_chromium, running_box, shot, sign_in
from .test_browser import no_script_errors

pytestmark = [pytest.mark.browser, needs_chromium, pytest.mark.timeout(180)]


async def test_xls_import_in_french_and_variables_step_in_english(tmp_path: Path) -> None:
    source = as_xls(model_2_rows("float"), tmp_path / "adhérents.xls")
    rdv = tmp_path / "rdv.csv"
    rdv.write_text("Prénom;Date RDV;Mobile\r\nHélène;12/01/2027 14h30;0612345678\r\n;13/01/2027;0612345679\r\n",
                   encoding="utf-8")
    async with running_box(tmp_path) as box:
        async with browser_page(box, locale="fr-FR") as page:
            await create_admin(page, box)
            await page.goto(box.url + "/imports")
            assert "modèle 2 (XLSX)" in await page.inner_text("#samples")
            await page.set_input_files("#upload-form input[type=file]", str(source))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_url("**/imports/*")
            assert await page.inner_text("#valid-count") == "3"
            assert "1" in await page.inner_text("#skipped-lines")
            assert await page.input_value("#header-line") == "3"
            assert "2 lignes rejetées" in await page.inner_text("#rejects-csv")
            await shot(page, "19-xls-import-analysis-fr")
            async with page.expect_download() as info:
                await page.click("#rejects-csv")
            download = await info.value
            text = Path(await download.path()).read_text("utf-8-sig")
            assert "doublon de la ligne 4" in text
            no_script_errors(box)
        async with browser_page(box, locale="en-GB") as page:
            await sign_in(page, box)
            await page.goto(box.url + "/campaigns/new")
            await page.fill("input[name=name]", "Reminders")
            await page.check("input[name=category][value=transactional]")
            await page.fill("#new-text", "Hello {prenom}, see you on {rdv}")
            await page.set_input_files("input[name=file]", str(rdv))
            await page.click("#campaign-form button[type=submit]")
            await page.wait_for_url("**/campaigns/*/preview")
            step = page.locator("#variables-step")
            assert await step.locator("select[name='source.prenom']").input_value() == "first_name"
            assert await step.locator("select[name='source.rdv']").input_value() == "date_rdv"
            await page.fill("input[name='default.prenom']", "dear customer")
            await shot(page, "19-variables-step-en")
            await page.click("#variables-form button[type=submit]")
            await page.wait_for_url("**/preview?done=saved")
            bubbles = await page.locator(".bubble.out").all_inner_texts()
            assert "Hello Hélène, see you on 12/01/2027 14h30" in bubbles
            assert "Hello dear customer, see you on 13/01/2027" in bubbles
            await shot(page, "19-preview-after-mapping-en")
            no_script_errors(box)


async def test_a_line_gets_a_label_and_shows_its_sims_number(tmp_path: Path) -> None:
    async with running_box(tmp_path) as box, browser_page(box, locale="fr-FR") as page:
        await create_admin(page, box)
        await page.goto(box.url + "/lines/line1")
        number = await page.inner_text("#line-number")
        assert "lu sur la SIM" in number
        await page.fill("#identity-form input[name=label]", "Accueil")
        await page.click("#identity-form button[type=submit]")
        await page.wait_for_url("**/lines/line1?done=saved")
        assert (await page.inner_text("h1")).startswith("Accueil")
        await page.goto(box.url + "/lines")
        row = await page.inner_text("table.lines tbody tr")
        assert "Accueil" in row and "(line1)" in row and number.split(" (")[0] in row
        await shot(page, "19-lines-identity-fr")
        no_script_errors(box)

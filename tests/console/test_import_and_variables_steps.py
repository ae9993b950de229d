"""Console steps of issue 19: a legacy .xls with a title row (header row chosen), the rejected lines
as CSV in the user's language, the sample files, and the campaign's variables ↔ columns step."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from aiohttp import FormData

from gatewayd import keys
from gatewayd.store import templates as template_store

from tests.contacts.test_office_models import as_xls, model_2_rows
from .conftest import Console


async def _upload(admin: Console, path: str, filename: str, content: bytes, **fields: str) -> str:
    form = FormData()
    form.add_field("_csrf", admin.csrf)
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", content, filename=filename, content_type="application/octet-stream")
    resp = await admin.client.post(path, data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp.headers["Location"]


async def test_xls_with_a_title_row_header_choice_and_rejected_lines(admin: Console, tmp_path: Path) -> None:
    await admin.get("/imports")
    xls = as_xls(model_2_rows("float"), tmp_path / "adherents.xls").read_bytes()
    location = await _upload(admin, "/imports", "adhérents.xls", xls)
    status, body = await admin.get(location)
    assert status == 200 and 'id="valid-count">3<' in body
    assert 'id="skipped-lines"' in body and '<option value="3" selected>' in body
    import_id = location.rstrip("/").split("/")[-1]
    # The rejected lines, reasons in the page's language, to fix in Excel.
    resp = await admin.client.get(f"/imports/{import_id}/rejects.csv", headers={"Accept-Language": "fr"})
    assert resp.status == 200
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")), delimiter=";"))
    assert [r[0] for r in rows[1:]] == ["7", "8"]
    assert rows[2][1] in ("doublon de la ligne 4", "duplicate of line 4") and rows[1][2] == "12345"
    # The user says the header is on line 1 (the title): the columns follow that choice.
    status, body, _ = await admin.post(f"/imports/{import_id}/analyse", {"header_line": "1"})
    assert status == 303
    row = await admin.app[keys.IMPORTS].get(int(import_id))
    assert row.analysis is not None and row.analysis["header_line"] == 1 and row.analysis["columns"] == 20
    status, body, _ = await admin.post(f"/imports/{import_id}/analyse", {"header_line": "3"})
    row = await admin.app[keys.IMPORTS].get(int(import_id))
    assert row.analysis is not None and row.analysis["mapping"][:3] == ["mobile", "last_name", "first_name"]
    for model, fmt in ((1, "csv"), (2, "xlsx")):
        resp = await admin.client.get(f"/imports/sample-{model}.{fmt}")
        assert resp.status == 200 and f"gatewayd-modele-{model}.{fmt}" in resp.headers["Content-Disposition"]


async def test_campaign_variables_step_maps_columns_and_defaults(admin: Console) -> None:
    await admin.get("/campaigns/new")
    db, now = admin.app[keys.DB], admin.app[keys.CLOCK].now()
    tpl = await template_store.insert(db, title="Rappel", line=None, text="Bonjour {prenom}, RDV le {rdv}", now=now)
    data = "Prénom;Date RDV;Mobile\r\nHélène;12/01/2027 14h30;0612345678\r\n;13/01/2027;0612345679\r\n".encode()
    location = await _upload(admin, "/campaigns/new", "rdv.csv", data, name="Rappels", category="transactional",
                             template_default=str(tpl))
    status, body = await admin.get(location)
    assert status == 200 and 'id="variables-step"' in body
    assert '<option value="first_name" selected>' in body and '<option value="date_rdv" selected>' in body
    campaign_id = location.split("/")[2]
    status, _, _ = await admin.post(f"/campaigns/{campaign_id}/variables", {
        "source.prenom": "first_name", "default.prenom": "cher client", "source.rdv": "date_rdv", "default.rdv": ""})
    assert status == 303
    status, body = await admin.get(location)
    assert "Bonjour Hélène, RDV le 12/01/2027 14h30" in body and "Bonjour cher client, RDV le 13/01/2027" in body
    status, body, _ = await admin.post(f"/campaigns/{campaign_id}/variables", {"source.prenom": "nope"})
    assert status == 422


async def test_reminder_campaign_from_the_wizard_shows_next_sends_and_skipped(admin: Console) -> None:
    await admin.get("/campaigns/new")
    data = "Mobile;Date RDV\r\n0612345678;14/01/2099 14h30\r\n0612345679;02/01/2000 10h00\r\n".encode()
    location = await _upload(admin, "/campaigns/new", "rdv.csv", data, name="Rappels", category="transactional",
                             new_text="Rappel : RDV le {date_rdv}", timing_kind="reminder", timing_column="Date RDV",
                             timing_offset="days", timing_days="1", timing_at="10:00")
    campaign_id = int(location.split("/")[2])
    campaign = await admin.app[keys.CAMPAIGNS].get(campaign_id)
    assert campaign.timing is not None and campaign.timing["column"] == "date_rdv"
    status, _, _ = await admin.post(f"/campaigns/{campaign_id}/schedule", {"when": "now", "confirm": "on"})
    assert status == 303
    status, body = await admin.get(f"/campaigns/{campaign_id}")
    assert status == 200 and 'id="next-sends"' in body and "2099" in body
    assert 'id="skipped-reminders"' in body and "02/01/2000 10h00" in body
    # A wrong column is named on the wizard's page.
    form = FormData()
    for name, value in (("_csrf", admin.csrf), ("name", "x"), ("new_text", "Rappel"), ("timing_kind", "reminder"),
                        ("timing_column", "naissance"), ("timing_offset", "minutes"), ("timing_hours", "2")):
        form.add_field(name, value)
    form.add_field("file", data, filename="rdv.csv", content_type="text/csv")
    resp = await admin.client.post("/campaigns/new", data=form, allow_redirects=False)
    assert resp.status == 422 and "naissance" in await resp.text()

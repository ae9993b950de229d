"""The campaign report as office staff download it: CSV in their language, safe to open in Excel."""

from __future__ import annotations

import csv
import io

from aiohttp import FormData

from gatewayd import keys
from gatewayd.contacts.service import ContactInput, ContactService, GroupService
from gatewayd.store import optouts

from .conftest import Console, add_user


async def _launched_campaign(admin: Console) -> int:
    """Three contacts in a group (one with a formula for a name, one opted out), launched now."""
    app = admin.app
    contacts = ContactService(app[keys.DB], app[keys.SETTINGS], app[keys.CLOCK])
    group = await GroupService(app[keys.DB], app[keys.CLOCK]).create("Clients", "", None)
    for mobile, last, first in (("0611000001", "Dupont", "Hélène"), ("0611000002", '=HYPERLINK("http://x")', "Eve"),
                                ("0611000003", "Martin", "Léo")):
        await contacts.create(ContactInput(mobile, last_name=last, first_name=first, groups=(group.id,)), "t")
    async with app[keys.DB].write() as conn:
        await optouts.record(conn, number="+33611000003", action="out", source="sms", now=app[keys.CLOCK].now())
    await admin.get("/campaigns/new")
    form = FormData()
    for name, value in (("_csrf", admin.csrf), ("name", "Soldes"), ("category", "marketing"),
                        ("new_text", "Soldes samedi"), ("group", str(group.id))):
        form.add_field(name, value)
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await admin.client.post("/campaigns/new", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    campaign_id = int(resp.headers["Location"].split("/")[2])
    status, body, _ = await admin.post(f"/campaigns/{campaign_id}/schedule", {"when": "now", "confirm": "on"})
    assert status == 303, body
    return campaign_id


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())  # Excel reads the accents right
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


async def test_report_csv_in_french_with_formulas_neutralised(admin: Console) -> None:
    campaign_id = await _launched_campaign(admin)
    status, page = await admin.get(f"/campaigns/{campaign_id}", headers={"Accept-Language": "fr"})
    assert status == 200 and "Rapport par destinataire (CSV)" in page
    assert f"/campaigns/{campaign_id}/report.csv?outcome=not_reached" in page

    resp = await admin.client.get(f"/campaigns/{campaign_id}/report.csv", headers={"Accept-Language": "fr"})
    assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/csv")
    assert f'filename="campaign-{campaign_id}-recipients.csv"' in resp.headers["Content-Disposition"]
    rows = _rows(await resp.read())
    assert rows[0] == ["Numéro", "Nom", "Prénom", "Résultat", "Motif", "Ligne", "Segments SMS", "Envoyé le",
                       "Remis le", "A répondu", "STOP ensuite", "N° de message"]
    # A leading "+" would make Excel compute the number (and drop the +): it is kept as text.
    assert all(r[0].startswith("'+336") for r in rows[1:])
    by_number = {r[0][1:]: r for r in rows[1:]}
    assert list(by_number) == ["+33611000001", "+33611000002", "+33611000003"]
    assert by_number["+33611000002"][1] == "'=HYPERLINK(\"http://x\")"  # shown as text, never run
    assert by_number["+33611000003"][3] == "écarté : désinscrit (STOP)"
    assert by_number["+33611000001"][3] in ("pas encore envoyé", "en file")  # no modem in this app
    assert by_number["+33611000001"][9:11] == ["non", "non"]

    resp = await admin.client.get(f"/campaigns/{campaign_id}/report.csv?outcome=excluded_opted_out",
                                  headers={"Accept-Language": "en"})
    rows = _rows(await resp.read())
    assert rows[0][:4] == ["Number", "Last name", "First name", "Outcome"]
    assert [r[0] for r in rows[1:]] == ["'+33611000003"] and rows[1][3] == "left out: opted out (STOP)"

    resp = await admin.client.get(f"/campaigns/{campaign_id}/report.csv?outcome=lost")
    assert resp.status == 422


async def test_a_viewer_gets_neither_the_link_nor_the_file(admin: Console) -> None:
    campaign_id = await _launched_campaign(admin)
    await add_user(admin, "val", "viewer")
    await admin.logout()
    await admin.login("val")
    status, page = await admin.get(f"/campaigns/{campaign_id}")
    assert status == 200 and "report.csv" not in page
    resp = await admin.client.get(f"/campaigns/{campaign_id}/report.csv")
    assert resp.status == 403

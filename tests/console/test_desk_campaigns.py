"""Campaign pages as the office uses them: a past date is a form error, a draft is edited, the
figures before launch are the preview's, French agrees with "campagne", tags have statistics."""

from __future__ import annotations

import re

from aiohttp import FormData

from gatewayd import keys

from .conftest import Console

FR = {"Accept-Language": "fr"}


async def _wizard(admin: Console, path: str, **fields: str) -> str:
    """Submit the campaign wizard (multipart, like the browser); the page it redirects to."""
    await admin.get(path)
    form = FormData()
    for name, value in (("_csrf", admin.csrf), *fields.items()):
        form.add_field(name, value)
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await admin.client.post(path, data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    return resp.headers["Location"]


async def _draft(admin: Console, name: str = "Promo", tag: str = "noel", text: str = "Bonjour, -10 % ce week-end") -> int:
    location = await _wizard(admin, "/campaigns/new", name=name, tag=tag, category="marketing",
                             new_text=text, numbers="06 12 34 56 78\n0698765432")
    return int(location.split("/")[2])


async def test_a_past_date_is_a_form_error_and_nothing_is_sent(admin: Console) -> None:
    cid = await _draft(admin)
    await admin.get(f"/campaigns/{cid}/preview")
    status, body, _ = await admin.post(f"/campaigns/{cid}/schedule",
                                       {"when": "later", "send_at": "2020-03-01T09:00", "confirm": "on"},
                                       headers=FR)
    assert status == 422 and "cette date est passée" in body
    assert 'value="2020-03-01T09:00"' in body and 'aria-invalid="true"' in body   # what was typed stays
    assert (await admin.app[keys.CAMPAIGNS].get(cid)).state == "draft"
    assert await admin.app[keys.OUTBOUND].list(limit=5) == []


async def test_a_draft_is_edited_until_launch(admin: Console) -> None:
    cid = await _draft(admin)
    status, body = await admin.get(f"/campaigns/{cid}/preview", headers=FR)
    assert f'href="/campaigns/{cid}/edit" id="edit-draft"' in body
    status, body = await admin.get(f"/campaigns/{cid}/edit", headers=FR)
    assert status == 200 and 'value="Promo"' in body and "06 12 34 56 78" in body
    location = await _wizard(admin, f"/campaigns/{cid}/edit", name="Promo de Noël", tag="noel",
                             category="marketing", template_default=str((await admin.app[keys.CAMPAIGNS].get(cid))
                                                                        .templates["default"]),
                             numbers="0611111111")
    assert location == f"/campaigns/{cid}/preview"
    campaign = await admin.app[keys.CAMPAIGNS].get(cid)
    assert campaign.name == "Promo de Noël" and campaign.audience["numbers"] == ["0611111111"]
    status, body = await admin.get(location)
    assert 'id="preview-recipients">1<' in body
    await admin.post(f"/campaigns/{cid}/schedule", {"when": "later", "send_at": "2099-01-01T09:00", "confirm": "on"})
    status, body = await admin.get(f"/campaigns/{cid}/edit")   # scheduled: no more editing
    assert status == 200 and "campaign-form" not in body


async def test_before_launch_the_detail_shows_the_preview_figures_in_agreed_french(admin: Console) -> None:
    cid = await _draft(admin)
    status, body = await admin.get(f"/campaigns/{cid}", headers=FR)
    assert "confiés aux lignes" not in body and 'id="planned-recipients">2<' in body
    await admin.get(f"/campaigns/{cid}/preview")
    status, _, resp = await admin.post(f"/campaigns/{cid}/schedule",
                                       {"when": "later", "send_at": "2099-01-01T09:00", "confirm": "on"})
    assert status == 303 and resp.headers["Location"].endswith("done=campaign_scheduled")
    status, body = await admin.get(resp.headers["Location"], headers=FR)
    assert "Campagne programmée." in body and ">programmée</span>" in body
    assert "confiés aux lignes" not in body and 'id="planned-recipients">2<' in body
    status, body = await admin.get("/campaigns", headers=FR)
    assert ">programmée</span>" in body and '<option value="canceled">annulée</option>' in body
    await admin.post(f"/campaigns/{cid}/cancel")
    status, body = await admin.get(f"/campaigns/{cid}", headers=FR)
    assert ">annulée</span>" in body


async def test_a_tag_shows_the_statistics_of_its_campaigns(admin: Console) -> None:
    first = await _draft(admin, "Promo 1", "soldes")
    second = await _draft(admin, "Promo 2", "soldes")
    await _draft(admin, "Autre", "rentree")
    for cid in (first, second):
        await admin.get(f"/campaigns/{cid}/preview")
        status, _, _ = await admin.post(f"/campaigns/{cid}/schedule", {"when": "now", "confirm": "on"})
        assert status == 303
    status, body = await admin.get("/campaigns", headers=FR)
    assert 'href="/campaigns?tag=soldes"' in body
    status, body = await admin.get("/campaigns?tag=soldes", headers=FR)
    assert 'id="tag-stats"' in body and "Promo 1" in body and "Promo 2" in body and "Autre" not in body
    stats = body[body.index('id="tag-stats"'):body.index("</section>", body.index('id="tag-stats"'))]
    assert re.search(r'<span class="figure">2</span><span class="caption">Campagnes', stats)


async def test_the_preview_checks_every_recipient_and_the_launch_waits_for_a_decision(admin: Console) -> None:
    cid = await _draft(admin, text="Bonjour {first_name}, -20 % au magasin de {ville}")
    status, body = await admin.get(f"/campaigns/{cid}/preview", headers=FR)
    assert 'id="checks-found"' in body and "2 destinataires ont un texte à problème" in body
    assert "variable vide : first_name" in body and "variable vide : ville" in body
    status, body, _ = await admin.post(f"/campaigns/{cid}/schedule", {"when": "now", "confirm": "on"}, headers=FR)
    assert status == 409 and "donnez une valeur par défaut aux variables" in body
    assert (await admin.app[keys.CAMPAIGNS].get(cid)).state == "draft"
    status, _, resp = await admin.post(f"/campaigns/{cid}/text-checks",
                                       {"default.first_name": "cher client", "default.ville": "Lyon"})
    assert status == 303
    status, body = await admin.get(f"/campaigns/{cid}/preview", headers=FR)
    assert 'id="checks-ok"' in body and "Bonjour cher client, -20 % au magasin de Lyon" in body
    assert 'value="cher client"' in body                      # the decision can be changed until launch
    status, _, _ = await admin.post(f"/campaigns/{cid}/schedule", {"when": "now", "confirm": "on"})
    assert status == 303 and (await admin.app[keys.CAMPAIGNS].get(cid)).state == "running"


async def test_send_a_test_to_myself(admin: Console) -> None:
    cid = await _draft(admin, text="Bonjour {first_name}, -20 % ce week-end")
    await admin.post(f"/campaigns/{cid}/text-checks", {"default.first_name": "Léa"})
    status, body = await admin.get(f"/campaigns/{cid}/preview", headers=FR)
    assert 'id="test-form"' in body
    status, body, _ = await admin.post(f"/campaigns/{cid}/test", {"test_number": "06 12"}, headers=FR)
    assert status == 422 and "« 06 12 »" in body
    status, _, resp = await admin.post(f"/campaigns/{cid}/test", {"test_number": "07 81 23 45 67"})
    assert status == 303 and resp.headers["Location"].endswith("done=test_sent")
    [sent] = await admin.app[keys.OUTBOUND].list(limit=5)
    assert sent.to == "+33781234567" and sent.text.startswith("Bonjour Léa, -20 % ce week-end")
    assert "STOP" in sent.text and sent.created_by == "console admin"      # as the campaign would send it
    assert (await admin.app[keys.CAMPAIGNS].get(cid)).state == "draft"    # the campaign itself is untouched

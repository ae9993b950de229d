"""Template variables mapped to a file's columns: the proposal from French/English synonyms, defaults,
and recipients without a value listed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import FormData
from aiohttp.test_utils import TestClient

from gatewayd.campaigns.variables import Resolver, Source, check, propose


def test_proposal_from_french_and_english_synonyms() -> None:
    sources = [Source("first_name", "Prénom"), Source("last_name", "Nom"), Source("mobile", "Mobile"),
               Source("date_rdv", "Date RDV"), Source("city", "City"), Source("date", "Date")]
    got = propose(["prenom", "rdv", "ville", "Nom", "firstName", "civilite", "email"], sources)
    assert got == {"prenom": "first_name", "rdv": "date_rdv", "ville": "city", "Nom": "last_name",
                   "firstName": "first_name", "civilite": None, "email": "email"}


def test_resolver_takes_the_mapped_column_else_the_default() -> None:
    resolver = Resolver({"prenom": {"source": "first_name", "default": "cher client"},
                         "rdv": {"source": "date_rdv", "default": ""}, "magasin": {"default": "Marseille"}})
    assert resolver.apply({"first_name": "Zoé", "Date_RDV": "12/01/2027"}) == {
        "first_name": "Zoé", "Date_RDV": "12/01/2027", "prenom": "Zoé", "rdv": "12/01/2027", "magasin": "Marseille"}
    assert resolver.apply({"first_name": ""})["prenom"] == "cher client"
    assert [(p.field, p.english()) for p in check({"prenom": {"source": "nope"}, "autre": {}}, ["prenom"],
                                                  ["first_name"])] == [
        ("variables.prenom.source", "no column or contact field named 'nope'"),
        ("variables.autre", "the templates have no variable {autre}")]


async def test_mapping_step_through_the_api(app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    data = ("Prénom;Date RDV;Mobile\r\nHélène;12/01/2027 14h30;0612345678\r\n;13/01/2027 09h00;0612345679\r\n"
            "Zoé;;0612345680\r\n").encode("utf-8")
    form = FormData()
    form.add_field("file", data, filename="rdv.csv")
    upload = await (await app_client.post("/api/v1/imports?purpose=campaign", data=form, headers=h)).json()
    await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Rappel", "text": "Bonjour {prenom}, votre RDV le {rdv}"})).json()
    r = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Rappels", "category": "transactional", "templates": {"default": tpl["id"]},
        "audience": {"file": upload["id"]}})
    campaign = await r.json()
    assert campaign["unknown_variables"] == {"default": ["prenom", "rdv"]}
    # Nothing fills {prenom} and {rdv} yet: the preview says so for every recipient.
    before = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    assert before["unknown_variables"] == {"default": ["prenom", "rdv"]}
    assert before["missing_variables"] == {"prenom": 3, "rdv": 3}

    step = await (await app_client.get(f"/api/v1/campaigns/{campaign['id']}/variables", headers=h)).json()
    assert step["variables"] == ["prenom", "rdv"]
    assert step["proposed"] == {"prenom": "first_name", "rdv": "date_rdv"}
    assert {"key": "date_rdv", "label": "Date RDV"} in step["sources"]
    r = await app_client.put(f"/api/v1/campaigns/{campaign['id']}/variables", headers=h, json={"variables": {
        "prenom": {"source": "first_name", "default": "cher client"}, "rdv": {"source": "date_rdv"}}})
    assert r.status == 200 and (await r.json())["unknown_variables"] == {}
    r = await app_client.put(f"/api/v1/campaigns/{campaign['id']}/variables", headers=h, json={"variables": {
        "prenom": {"source": "Prénom"}}})
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "variables.prenom.source"

    preview = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    texts = {s["number"]: s["text"] for s in preview["recipients"]}
    assert texts["+33612345678"] == "Bonjour Hélène, votre RDV le 12/01/2027 14h30"
    assert texts["+33612345679"] == "Bonjour cher client, votre RDV le 13/01/2027 09h00"
    assert preview["missing_variables"] == {"rdv": 1}
    assert preview["recipients_missing_values"] == [
        {"number": "+33612345680", "contact_id": None, "source": "file", "missing_variables": ["rdv"]}]
    # The recipient without {rdv} holds the launch (issue 16's whole-audience check) until a decision.
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    assert r.status == 409 and (await r.json())["errors"][0]["code"] == "campaign.text_problems"
    await app_client.post(f"/api/v1/campaigns/{campaign['id']}/text-checks", headers=h, json={"exclude": True})
    r = await app_client.post(f"/api/v1/campaigns/{campaign['id']}/schedule", headers=h,
                              json={"send_at": "2099-01-01T09:00:00+01:00"})
    assert r.status == 200 and (await r.json())["state"] == "scheduled"

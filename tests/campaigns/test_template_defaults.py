"""A template's own default values (issue 13): set once on the template, used wherever its text is
sent (API by template id, campaigns) for a recipient with no value, after an inline `{name|default}`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp.test_utils import TestClient

from gatewayd import keys
from gatewayd.campaigns.templates import check_defaults, compile_template, render
from gatewayd.outbound.compose import Draft


def test_template_defaults_fill_only_occurrences_without_an_inline_one() -> None:
    compiled = compile_template("Bonjour {Prenom}, {ville|chez vous} {prenom|toi}",
                                {"prenom": "Madame, Monsieur", "ville": "Paris"})
    assert render(compiled, {}).text == "Bonjour Madame, Monsieur, chez vous toi"
    assert render(compiled, {"prenom": "Zoé"}).text == "Bonjour Zoé, chez vous Zoé"
    assert render(compiled, {"prenom": ""}).missing == ()
    assert render(compile_template("Bonjour {prenom}"), {}).missing == ("prenom",)


def test_defaults_must_name_a_variable_of_the_text_and_be_one_short_line() -> None:
    compiled = compile_template("Bonjour {prenom}")
    got = [(p.code, p.field, p.params.get("name")) for p in check_defaults(
        compiled, {"prenom": "ok", "nom": "x", "PRENOM": "a\nb"})]
    assert got == [("template.default_unused", "defaults.nom", "nom"),
                   ("template.default_invalid", "defaults.PRENOM", "PRENOM")]
    assert check_defaults(compiled, {"prenom": "x" * 201})[0].code == "template.default_invalid"


async def test_api_template_default_fills_a_send_and_a_campaign(
        app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = {"Authorization": f"Bearer {await api_key('send', 'read')}"}
    r = await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Rappel", "text": "Bonjour {first_name}, à demain.", "defaults": {"nom": "x"}})
    problem = await r.json()
    assert r.status == 422 and problem["errors"][0]["code"] == "template.default_unused"
    assert problem["errors"][0]["field"] == "defaults.nom"

    # Without a default, a recipient with no first name is refused (never an empty gap sent).
    tpl = await (await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Rappel", "text": "Bonjour {first_name}, à demain."})).json()
    r = await app_client.post("/api/v1/messages", headers=h, json={"to": "+33612345678", "template": tpl["id"],
                                                                 "category": "transactional"})
    assert r.status == 422 and "first_name" in await r.text(), await r.text()

    r = await app_client.put(f"/api/v1/templates/{tpl['id']}", headers=h, json={
        "title": "Rappel", "text": "Bonjour {first_name}, à demain.", "defaults": {"first_name": "Madame, Monsieur"}})
    assert r.status == 200 and (await r.json())["defaults"] == {"first_name": "Madame, Monsieur"}
    assert (await (await app_client.get(f"/api/v1/templates/{tpl['id']}", headers=h)).json())["defaults"] == {
        "first_name": "Madame, Monsieur"}
    r = await app_client.post("/api/v1/messages", headers=h, json={"to": "+33612345678", "template": tpl["id"],
                                                                 "category": "transactional"})
    assert r.status == 202, await r.text()
    sent = (await r.json())["messages"][0]
    got = await (await app_client.get(f"/api/v1/messages/{sent['id']}", headers=h)).json()
    assert got["text"] == "Bonjour Madame, Monsieur, à demain."
    # A value given for this send still wins over the template's default.
    r = await app_client.post("/api/v1/messages", headers=h, json={
        "to": "+33612345679", "template": tpl["id"], "category": "transactional", "variables": {"first_name": "Zoé"}})
    got = await (await app_client.get(f"/api/v1/messages/{(await r.json())['messages'][0]['id']}", headers=h)).json()
    assert got["text"] == "Bonjour Zoé, à demain."

    # New SMS from the template, its text edited in the console: the template's defaults still apply.
    outbound = app_client.server.app[keys.OUTBOUND]
    [row] = await outbound.submit_draft(Draft(recipients=("+33612345690",), text="Bonjour {first_name}, à bientôt.",
                                              based_on=tpl["id"], personalise=True, source="console"))
    assert row.text == "Bonjour Madame, Monsieur, à bientôt."

    # A campaign with the template: a contact without a first name gets the template's default.
    await app_client.post("/api/v1/contacts", headers=h, json={"mobile": "+33612345670", "first_name": "Léa"})
    await app_client.post("/api/v1/contacts", headers=h, json={"mobile": "+33612345671"})
    r = await app_client.post("/api/v1/campaigns", headers=h, json={
        "name": "Demain", "category": "transactional", "templates": {"default": tpl["id"]},
        "audience": {"numbers": ["+33612345670", "+33612345671"]}})
    assert r.status == 201, await r.text()
    campaign = await r.json()
    preview = await (await app_client.post(f"/api/v1/campaigns/{campaign['id']}/preview", headers=h)).json()
    texts = {s["number"]: s["text"] for s in preview["recipients"]}
    assert texts == {"+33612345670": "Bonjour Léa, à demain.", "+33612345671": "Bonjour Madame, Monsieur, à demain."}
    assert preview["missing_variables"] == {}

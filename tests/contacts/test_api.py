"""Contacts, groups, imports, templates and export through the real HTTP API."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Awaitable, Callable

from aiohttp import FormData
from aiohttp.test_utils import TestClient


async def _auth(api_key: Callable[..., Awaitable[str]]) -> dict[str, str]:
    return {"Authorization": f"Bearer {await api_key('send', 'read')}"}


async def test_contact_crud_search_pagination(app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    r = await app_client.post("/api/v1/contact-fields", json={"name": "ville"}, headers=h)
    assert r.status == 201 and (await r.json())["fields"] == ["ville"]
    ids = []
    for i, (last, first) in enumerate([("Dupont", "Hélène"), ("Durand", "Éric"), ("Martin", "Zoé")]):
        r = await app_client.post("/api/v1/contacts", headers=h, json={
            "mobile": f"06 12 34 56 7{i}", "last_name": last, "first_name": first, "language": "fr",
            "fields": {"ville": "Marseille" if i < 2 else "Lyon"}})
        assert r.status == 201, await r.text()
        ids.append((await r.json())["id"])
    body = await (await app_client.get(f"/api/v1/contacts/{ids[0]}", headers=h)).json()
    assert body["mobile"] == "+33612345670" and body["fields"] == {"ville": "Marseille"}
    # Same number, another format: refused as a duplicate.
    r = await app_client.post("/api/v1/contacts", headers=h, json={"mobile": "+33612345670"})
    assert r.status == 409
    r = await app_client.post("/api/v1/contacts", headers=h, json={"mobile": "12"})
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "mobile"
    r = await app_client.post("/api/v1/contacts", headers=h, json={"mobile": "0611111111", "fields": {"nope": "x"}})
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "fields.nope"
    # Accent-folded prefix search on names, number prefix search.
    found = await (await app_client.get("/api/v1/contacts?q=eric", headers=h)).json()
    assert [c["last_name"] for c in found["contacts"]] == ["Durand"]
    found = await (await app_client.get("/api/v1/contacts?q=du", headers=h)).json()
    assert {c["last_name"] for c in found["contacts"]} == {"Dupont", "Durand"}
    found = await (await app_client.get("/api/v1/contacts?q=06 12 34 56 72", headers=h)).json()
    assert [c["last_name"] for c in found["contacts"]] == ["Martin"]
    # Cursor pagination walks everything once.
    seen, cursor = [], None
    while True:
        url = "/api/v1/contacts?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = await (await app_client.get(url, headers=h)).json()
        seen += [c["id"] for c in page["contacts"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids
    r = await app_client.get("/api/v1/contacts?cursor=garbage!", headers=h)
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "cursor"
    r = await app_client.put(f"/api/v1/contacts/{ids[2]}", headers=h, json={
        "mobile": "+33 6 12 34 56 72", "last_name": "Martin-Roux", "fields": {"ville": None}})
    updated = await r.json()
    assert r.status == 200 and updated["last_name"] == "Martin-Roux" and updated["fields"] == {}
    r = await app_client.put(f"/api/v1/contacts/{ids[2]}", headers=h, json={"mobile": "0612345670"})
    assert r.status == 409  # that number belongs to another contact
    r = await app_client.post("/api/v1/contacts/delete", headers=h, json={"ids": ids[:2]})
    assert (await r.json())["deleted"] == 2
    assert (await app_client.get(f"/api/v1/contacts/{ids[0]}", headers=h)).status == 404


async def test_groups_static_and_rule(app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    await app_client.post("/api/v1/contact-fields", json={"name": "ville"}, headers=h)
    ids = []
    for i, city in enumerate(["Marseille", "marseille", "Lyon"]):
        r = await app_client.post("/api/v1/contacts", headers=h, json={
            "mobile": f"061234568{i}", "language": "en" if i == 2 else "fr", "fields": {"ville": city}})
        ids.append((await r.json())["id"])
    r = await app_client.post("/api/v1/groups", headers=h, json={"name": "VIP"})
    vip = await r.json()
    assert vip["kind"] == "static" and vip["members"] == 0
    r = await app_client.post(f"/api/v1/groups/{vip['id']}/members", headers=h, json={"add": ids[:2]})
    assert (await r.json())["members"] == 2
    assert (await app_client.post("/api/v1/groups", headers=h, json={"name": "vip"})).status == 409
    r = await app_client.post("/api/v1/groups", headers=h, json={
        "name": "Marseillais", "rule": [{"field": "ville", "op": "eq", "value": "MARSEILLE"}]})
    rule_group = await r.json()
    assert rule_group["members"] == 2
    r = await app_client.post("/api/v1/groups", headers=h, json={
        "name": "bad", "rule": [{"field": "shoe_size", "op": "eq", "value": "42"}]})
    assert r.status == 422
    members = await (await app_client.get(f"/api/v1/contacts?group={vip['id']}", headers=h)).json()
    assert [c["id"] for c in members["contacts"]] == ids[:2]
    r = await app_client.post(f"/api/v1/groups/{rule_group['id']}/members", headers=h, json={"add": [ids[2]]})
    assert r.status == 409


async def test_import_upload_analyse_commit_export(app_client: TestClient,
                                                   api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    data = ("Nom;Prénom;Portable;Ville\r\n=HYPERLINK(\"x\");Ann;0611111111;@Aix\r\n"
            "Bé;Bob;0611111112;Lyon\r\n").encode("cp1252")
    form = FormData()
    form.add_field("file", data, filename="export excel.csv", content_type="text/csv")
    r = await app_client.post("/api/v1/imports", data=form, headers=h)
    assert r.status == 201, await r.text()
    upload = await r.json()
    assert upload["state"] == "uploaded" and upload["format"] == "csv"
    r = await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)
    analysis = (await r.json())["analysis"]
    assert analysis["encoding"] == "Windows-1252" and analysis["valid"] == 2
    r = await app_client.post(f"/api/v1/imports/{upload['id']}/commit", headers=h,
                              json={"optin": {"certified": False, "statement": "ok"}})
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "optin.certified"
    r = await app_client.post(f"/api/v1/imports/{upload['id']}/commit", headers=h, json={
        "optin": {"certified": True, "statement": "Clients du magasin, consentement papier"},
        "new_groups": ["Magasin"]})
    report = (await r.json())["report"]
    assert report["created"] == 2 and report["optin"]["by"].startswith("api key")
    # Raw-body upload of a campaign file works too.
    r = await app_client.post("/api/v1/imports?purpose=campaign&filename=n.txt", data=b"0611111113\n", headers=h)
    assert r.status == 201 and (await r.json())["purpose"] == "campaign"

    r = await app_client.get(f"/api/v1/contacts/export?format=csv&group={report['groups'][0]}", headers=h)
    text = (await r.read()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:3] == ["mobile", "last_name", "first_name"]
    by_first = {row[2]: row for row in rows[1:]}
    assert by_first["Ann"][1] == "'=HYPERLINK(\"x\")"          # formula neutralised
    assert by_first["Ann"][0] == "'+33611111111"              # a leading + would be a formula too
    assert by_first["Ann"][rows[0].index("ville")] == "'@Aix"
    assert by_first["Bob"][1] == "Bé"
    assert by_first["Bob"][rows[0].index("groups")] == "Magasin"  # groups by name, not by id
    r = await app_client.get("/api/v1/contacts/export?format=json", headers=h)
    exported = json.loads(await r.read())
    assert sorted(c["first_name"] for c in exported["contacts"]) == ["Ann", "Bob"]
    assert exported["contacts"][0]["optin"]["statement"] == "Clients du magasin, consentement papier"


async def test_export_reimported_into_the_same_base_changes_nothing(
        app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    """The contacts export, imported back as it is: no junk column proposed, no change, no new field,
    no new group; the apostrophe guarding '+33…' and '=…' cells is removed on the way in."""
    h = await _auth(api_key)
    for name in ("ville", "date_rdv"):
        await app_client.post("/api/v1/contact-fields", json={"name": name}, headers=h)
    groups = {}
    for name in ("Clients", "VIP"):
        groups[name] = (await (await app_client.post("/api/v1/groups", headers=h, json={"name": name})).json())["id"]
    people = [("Dupont", "Hélène", "fr", {"ville": "Marseille", "date_rdv": "12/01/2027 14h30"}, ["Clients", "VIP"]),
              ("=Durand", "Éric", "en", {"ville": "-Lyon"}, ["Clients"]),
              ("Martin", "Zoé", None, {}, [])]
    for i, (last, first, lang, fields, member_of) in enumerate(people):
        r = await app_client.post("/api/v1/contacts", headers=h, json={
            "mobile": f"06 12 34 56 7{i}", "last_name": last, "first_name": first, "language": lang,
            "email": f"p{i}@example.fr", "fields": fields, "optin_statement": "Bulletin signé en magasin",
            "groups": [groups[g] for g in member_of]})
        assert r.status == 201, await r.text()
    before = await (await app_client.get("/api/v1/contacts/export?format=json", headers=h)).read()
    exported = await (await app_client.get("/api/v1/contacts/export?format=csv", headers=h)).read()
    assert b"'+33612345670" in exported and b"'=Durand" in exported

    form = FormData()
    form.add_field("file", exported, filename="contacts.csv", content_type="text/csv")
    upload = await (await app_client.post("/api/v1/imports", data=form, headers=h)).json()
    r = await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)
    analysis = (await r.json())["analysis"]
    assert analysis["mapping"] == ["mobile", "last_name", "first_name", "email", "language", "optin_source",
                                   "optin_at", "optin_statement", "optin_by", "groups", "field:ville",
                                   "field:date_rdv"]
    assert analysis["valid"] == 3 and analysis["invalid"]["count"] == 0 and analysis["repaired"]["count"] == 0
    assert analysis["already_in_base"] == 3
    assert analysis["would_update"] == {"count": 0, "unchanged": 3, "lines": []}
    r = await app_client.post(f"/api/v1/imports/{upload['id']}/commit", headers=h, json={
        "optin": {"certified": True, "statement": "Réimport de notre export"}})
    report = (await r.json())["report"]
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 3)
    assert report["groups_created"] == []
    assert (await (await app_client.get("/api/v1/contact-fields", headers=h)).json())["fields"] == ["ville",
                                                                                                    "date_rdv"]
    after = await (await app_client.get("/api/v1/contacts/export?format=json", headers=h)).read()
    assert json.loads(after) == json.loads(before)  # names, fields, opt-in, groups, updated_at: all the same
    listed = (await (await app_client.get("/api/v1/groups", headers=h)).json())["groups"]
    assert sorted(g["name"] for g in listed) == ["Clients", "VIP"]


async def test_update_existing_shows_what_would_change(app_client: TestClient,
                                                       api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    await app_client.post("/api/v1/contact-fields", json={"name": "ville"}, headers=h)
    await app_client.post("/api/v1/contacts", headers=h, json={
        "mobile": "0612345670", "last_name": "Dupont", "first_name": "Hélène", "fields": {"ville": "Aix"}})
    data = "Mobile;Nom;Prénom;Ville\r\n0612345670;Dupont;Hélène;Marseille\r\n0612345671;Roux;Noël;Lille\r\n" \
           "12;Bad;Line;Nowhere\r\n0612345671;Roux;Noël;Lille\r\n"
    form = FormData()
    form.add_field("file", data.encode(), filename="maj.csv", content_type="text/csv")
    upload = await (await app_client.post("/api/v1/imports", data=form, headers=h)).json()
    analysis = (await (await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)).json())["analysis"]
    assert analysis["would_update"] == {"count": 1, "unchanged": 0, "lines": [
        {"line": 2, "number": "+33612345670", "changes": {"field:ville": ["Aix", "Marseille"]}}]}
    # The rejected lines, with their reason, as a CSV to fix and send again.
    r = await app_client.get(f"/api/v1/imports/{upload['id']}/rejects.csv", headers=h)
    assert r.status == 200 and r.headers["Content-Disposition"].endswith('.csv"')
    rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["line", "reason", "Mobile", "Nom", "Prénom", "Ville"]
    assert [r[0] for r in rows[1:]] == ["4", "5"]
    assert rows[1][2:] == ["12", "Bad", "Line", "Nowhere"] and rows[1][1]  # the number checker's reason
    assert rows[2][1] == "duplicate of line 3"


async def test_templates_report_unknown_variables(app_client: TestClient,
                                                  api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    await app_client.post("/api/v1/contact-fields", json={"name": "ville"}, headers=h)
    r = await app_client.post("/api/v1/templates", headers=h, json={
        "title": "Promo", "text": "Bonjour {first_name}, à {ville} : {code_promo} !"})
    body = await r.json()
    assert r.status == 201 and body["unknown_variables"] == ["code_promo"]
    assert body["variables"] == ["first_name", "ville", "code_promo"] and body["encoding"] == "GSM-7"
    r = await app_client.post("/api/v1/templates", headers=h, json={"title": "x", "text": "Bonjour {first_name"})
    assert r.status == 422 and "never closed" in (await r.json())["errors"][0]["message"]
    r = await app_client.post("/api/v1/templates", headers=h, json={"title": "x", "text": "{__import__('os')}"})
    assert r.status == 422


async def test_sample_files_download_and_import_as_they_are(app_client: TestClient,
                                                            api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    for model, fmt, mapping in ((1, "csv", ["mobile"]), (2, "xlsx", ["mobile", "last_name", "first_name", "email",
                                                                       "language", "field:date_rdv", "field:ville"])):
        r = await app_client.get(f"/api/v1/imports/sample?model={model}&format={fmt}", headers=h)
        assert r.status == 200 and f"gatewayd-modele-{model}.{fmt}" in r.headers["Content-Disposition"]
        form = FormData()
        form.add_field("file", await r.read(), filename=f"modele.{fmt}")
        upload = await (await app_client.post("/api/v1/imports", data=form, headers=h)).json()
        r = await app_client.post(f"/api/v1/imports/{upload['id']}/analyse", headers=h)
        analysis = (await r.json())["analysis"]
        assert analysis["mapping"] == mapping and analysis["valid"] == 3 and analysis["invalid"]["count"] == 0
    r = await app_client.get("/api/v1/imports/sample?model=3", headers=h)
    assert r.status == 422 and (await r.json())["errors"][0]["field"] == "model"


async def test_group_hygiene_replace_members_by_file_and_delete_their_contacts(
        app_client: TestClient, api_key: Callable[..., Awaitable[str]]) -> None:
    h = await _auth(api_key)
    gid = (await (await app_client.post("/api/v1/groups", headers=h, json={"name": "Adhérents"})).json())["id"]
    ids = []
    for i in range(4):
        r = await app_client.post("/api/v1/contacts", headers=h, json={"mobile": f"061234567{i}",
                                                                       "groups": [gid] if i < 2 else []})
        ids.append((await r.json())["id"])
    # This season's list: contacts 1 and 2 (0 leaves the group), one number nobody has, one bad line.
    data = "Mobile\r\n0612345671\r\n+33612345672\r\n0699999999\r\nnot a number\r\n0612345671\r\n".encode()
    r = await app_client.put(f"/api/v1/groups/{gid}/members/file?filename=saison.csv", data=data, headers=h)
    assert r.status == 200, await r.text()
    result = await r.json()
    assert (result["members"], result["previous_members"], result["not_in_base"]) == (2, 2, 1)
    assert (result["invalid"], result["duplicates"]) == (1, 1)
    members = await (await app_client.get(f"/api/v1/contacts?group={gid}", headers=h)).json()
    assert sorted(c["id"] for c in members["contacts"]) == ids[1:3]

    r = await app_client.post(f"/api/v1/groups/{gid}/delete-contacts", headers=h)
    assert r.status == 200 and (await r.json())["deleted"] == 2
    left = await (await app_client.get("/api/v1/contacts", headers=h)).json()
    assert sorted(c["id"] for c in left["contacts"]) == [ids[0], ids[3]]
    group = await (await app_client.get(f"/api/v1/groups/{gid}", headers=h)).json()
    assert group["members"] == 0 and group["name"] == "Adhérents"
    assert (await app_client.post("/api/v1/groups/999/delete-contacts", headers=h)).status == 404

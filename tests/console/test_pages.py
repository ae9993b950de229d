"""Console pages over the real services: contacts, groups, templates, import wizard, campaigns, settings."""

from __future__ import annotations

import re

from aiohttp import FormData

from gatewayd import __version__, keys
from gatewayd.store import apikeys as key_store
from gatewayd.store import contacts as contact_store
from gatewayd.store import users as user_store

from .conftest import PASSWORD, Console, add_user

GET_PAGES = ("/", "/account", "/contacts", "/contacts/new", "/contacts/fields", "/groups", "/groups/new",
             "/templates", "/templates/new", "/imports", "/campaigns", "/campaigns/new", "/settings",
             "/settings/users", "/settings/api-keys", "/sms/new", "/sent", "/discussions", "/received",
             "/stop-list", "/calls", "/lines", "/settings/webhooks", "/settings/auto-replies",
             "/settings/quiet-hours", "/settings/stop-words")


async def test_every_page_renders_for_an_admin(admin: Console) -> None:
    for path in GET_PAGES:
        status, body = await admin.get(path)
        assert status == 200, (path, body[:500])
        assert "<main" in body
        # The running version in every page's footer, for support requests.
        assert f'<span data-version>{__version__}</span>' in body, path


async def test_contact_create_validation_edit_search_delete(admin: Console) -> None:
    await admin.get("/contacts/new")
    status, body, _ = await admin.post("/contacts/new", {"mobile": "12", "first_name": "Zoé"})
    assert status == 422 and 'aria-invalid="true"' in body and "Zoé" in body
    status, _, resp = await admin.post("/contacts/new", {"mobile": "06 12 34 56 78", "first_name": "Zoé",
                                                          "last_name": "Durand<b>x</b>"})
    assert status == 303
    contact_id = int(resp.headers["Location"].split("/")[2].split("?")[0])
    status, body = await admin.get("/contacts?q=dur")
    assert "06 12 34 56 78" in body and "Durand&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body
    status, body = await admin.get("/contacts?q=0612")
    assert "Zoé" in body
    await admin.get(f"/contacts/{contact_id}")
    status, _, _ = await admin.post(f"/contacts/{contact_id}", {"mobile": "+33612345678", "first_name": "Zoe",
                                                                 "last_name": "Durand"})
    assert status == 303
    contact = await contact_store.get(admin.app[keys.DB], contact_id)
    assert contact is not None and contact.first_name == "Zoe"
    status, _, _ = await admin.post(f"/contacts/{contact_id}/delete")
    assert status == 303
    assert await contact_store.get(admin.app[keys.DB], contact_id) is None


async def test_contact_list_is_keyset_paged(admin: Console) -> None:
    await admin.get("/contacts/new")
    for i in range(55):
        status, _, _ = await admin.post("/contacts/new", {"mobile": f"06 12 00 00 {i:02d}", "last_name": f"N{i:02d}"})
        assert status == 303
    status, body = await admin.get("/contacts")
    assert body.count('name="ids"') == 50
    next_url = re.search(r'href="(/contacts\?after=[^"]+)" rel="next"', body)
    assert next_url
    status, body = await admin.get(next_url.group(1).replace("&amp;", "&"))
    assert body.count('name="ids"') == 5 and "N54" in body and "N00" not in body


async def test_group_static_members_and_rule(admin: Console) -> None:
    await admin.get("/contacts/new")
    await admin.post("/contacts/new", {"mobile": "0612345678", "first_name": "Ana", "email": "ana@example.org"})
    await admin.get("/groups/new")
    status, _, resp = await admin.post("/groups/new", {"name": "Clients", "kind": "static"})
    assert status == 303
    group_path = resp.headers["Location"].split("?")[0]
    contact = (await contact_store.search(admin.app[keys.DB], limit=1))[0]
    status, _, _ = await admin.post(group_path + "/members", {"contact": str(contact.id)})
    assert status == 303
    status, body = await admin.get(group_path)
    assert "Ana" in body
    status, _, resp = await admin.post("/groups/new", {"name": "Example", "kind": "rule", "rule_field_0": "email",
                                                        "rule_op_0": "contains", "rule_value_0": "example"})
    assert status == 303
    status, body = await admin.get(resp.headers["Location"].split("?")[0])
    assert "Ana" in body
    status, body, _ = await admin.post("/groups/new", {"name": "Clients", "kind": "static"})
    assert status == 422 and "existe déjà" in body  # the service's Conflict, in French


async def test_template_with_unknown_variable_is_saved_with_a_warning(admin: Console) -> None:
    await admin.get("/templates/new")
    status, body, _ = await admin.post("/templates/new", {"title": "Hello", "text": "Bonjour {first_name} {nope}"})
    assert status == 200 and "nope" in body
    status, body, _ = await admin.post("/templates/new", {"title": "Bad", "text": "Bonjour {first"})
    assert status == 422 and "jamais fermée" in body  # the template syntax error, in French
    status, body = await admin.get("/templates")
    assert "Hello" in body and "Bad" not in body


async def upload(admin: Console, path: str, filename: str, content: bytes, **fields: str) -> tuple[int, str, str]:
    form = FormData()
    form.add_field("_csrf", admin.csrf)
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", content, filename=filename, content_type="text/csv")
    resp = await admin.client.post(path, data=form, allow_redirects=False)
    return resp.status, await resp.text(), resp.headers.get("Location", "")


CSV = ("Nom;Prénom;Téléphone;Ville\n"
       "Martin;Léa;06 11 22 33 44;Lyon\n"
       "Bernard;Hugo;+33622334455;Paris\n"
       "Bad;Row;123;Nice\n"
       "Martin;Léa;0611223344;Lyon\n").encode()


async def test_import_wizard_upload_analyse_options_confirm_commit(admin: Console) -> None:
    await admin.get("/imports")
    status, body, location = await upload(admin, "/imports", "clients.csv", CSV)
    assert status == 303, body
    status, body = await admin.get(location)
    assert status == 200 and 'id="valid-count">2<' in body and "Ville" in body
    import_id = location.rstrip("/").split("/")[-1]
    status, body = await admin.get(f"/imports/{import_id}/options")
    assert status == 200
    status, body, _ = await admin.post(f"/imports/{import_id}/confirm", {"statement": "Paper form", "new_group": "Lyon"})
    assert status == 422                      # not certified
    status, body, _ = await admin.post(f"/imports/{import_id}/confirm", {"statement": "Paper form",
                                                                         "certified": "on", "new_group": "Lyon"})
    assert status == 200 and "Paper form" in body
    assert await contact_store.count(admin.app[keys.DB]) == 0   # confirming shows, never writes
    status, _, _ = await admin.post(f"/imports/{import_id}/commit", {"statement": "Paper form", "certified": "on",
                                                                      "new_group": "Lyon", "on_existing": "update",
                                                                      "opted_out": "skip"})
    assert status == 303
    status, body = await admin.get(f"/imports/{import_id}")
    assert 'id="created-count">2<' in body
    contacts = await contact_store.search(admin.app[keys.DB], limit=10)
    assert {c.mobile for c in contacts} == {"+33611223344", "+33622334455"}
    assert all(c.optin_statement == "Paper form" and c.optin_by == "console admin" for c in contacts)


async def test_upload_without_csrf_part_is_refused_before_storing(admin: Console) -> None:
    form = FormData()
    form.add_field("file", CSV, filename="x.csv", content_type="text/csv")
    resp = await admin.client.post("/imports", data=form, allow_redirects=False)
    assert resp.status == 403
    status, body = await admin.get("/imports")
    assert "x.csv" not in body


async def test_a_file_form_sent_without_multipart_says_so(admin: Console) -> None:
    for path in ("/imports", "/campaigns/new"):
        await admin.get(path)
        status, body, _ = await admin.post(path, {"name": "Promo", "new_text": "Hello"})
        assert status == 400 and "multipart/form-data" in body, (path, status)


async def test_campaign_wizard_preview_schedule_pause(admin: Console) -> None:
    await admin.get("/campaigns/new")
    status, body, _ = await upload(admin, "/campaigns/new", "", b"", name="Promo", new_text="Hello",
                                   numbers="")
    assert status == 422 and ("at least one" in body or "au moins" in body)
    form = FormData()
    for name, value in (("_csrf", admin.csrf), ("name", "Promo"), ("tag", "spring"), ("category", "marketing"),
                        ("new_text", "Soldes -20% {first_name|chers clients}"), ("numbers", "06 12 34 56 78\n0698765432, 12")):
        form.add_field(name, value)
    form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await admin.client.post("/campaigns/new", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    preview_path = resp.headers["Location"]
    status, body = await admin.get(preview_path)
    assert status == 200 and 'id="preview-recipients">2<' in body and "Soldes -20%" in body
    campaign_id = preview_path.split("/")[2]
    status, body, _ = await admin.post(f"/campaigns/{campaign_id}/schedule", {"when": "now"})
    assert status == 422                      # confirmation not ticked
    status, _, _ = await admin.post(f"/campaigns/{campaign_id}/schedule", {"when": "now", "confirm": "on"})
    assert status == 303
    campaign = await admin.app[keys.CAMPAIGNS].get(int(campaign_id))
    assert campaign.state == "running"
    status, _, _ = await admin.post(f"/campaigns/{campaign_id}/pause")
    assert status == 303
    assert (await admin.app[keys.CAMPAIGNS].get(int(campaign_id))).state == "paused"
    resp = await admin.client.get(f"/campaigns/{campaign_id}/progress")
    data = await resp.json()
    assert resp.status == 200 and "paused" in data["html"] or "pause" in data["html"]
    status, body, _ = await admin.post(f"/campaigns/{campaign_id}/pause")
    assert status == 409


async def test_users_and_roles_and_last_admin(admin: Console) -> None:
    await admin.get("/settings/users")
    status, body, _ = await admin.post("/settings/users", {"name": "op", "role": "operator", "password": "weak",
                                                            "confirm": "weak"})
    assert status == 422
    status, _, _ = await admin.post("/settings/users", {"name": "op", "role": "operator", "password": PASSWORD,
                                                         "confirm": PASSWORD})
    assert status == 303
    me = await user_store.by_name(admin.app[keys.DB], "admin")
    assert me is not None
    status, body, _ = await admin.post(f"/settings/users/{me.id}", {"role": "viewer", "enabled": "on"})
    assert status == 409                      # the last administrator stays
    op = await user_store.by_name(admin.app[keys.DB], "op")
    assert op is not None
    status, _, _ = await admin.post(f"/settings/users/{op.id}", {"role": "viewer"})   # disabled
    assert status == 303
    op = await user_store.by_name(admin.app[keys.DB], "op")
    assert op is not None and op.role == "viewer" and op.disabled_at is not None


async def test_api_key_is_shown_once_and_works(admin: Console) -> None:
    await admin.get("/settings/api-keys")
    status, body, _ = await admin.post("/settings/api-keys", [("name", "erp"), ("scopes", "send"),
                                                               ("scopes", "read")])
    assert status == 201
    token = re.search(r'id="new-key-token">([^<]+)<', body)
    assert token
    status, body = await admin.get("/settings/api-keys")
    assert token.group(1) not in body and "erp" in body
    resp = await admin.client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert resp.status == 200
    key = (await key_store.list_all(admin.app[keys.DB]))[0]
    status, _, _ = await admin.post(f"/settings/api-keys/{key.id}/revoke")
    assert status == 303
    resp = await admin.client.get("/api/v1/contacts", headers={"Authorization": f"Bearer {token.group(1)}"})
    assert resp.status == 401


async def test_viewer_reads_but_cannot_change(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await add_user(console, "vera", "viewer")
    await console.login("vera")
    status, body = await console.get("/contacts")
    assert status == 200 and "New contact" not in body and "Nouveau contact" not in body
    status, _, _ = await console.post("/contacts/new", {"mobile": "0612345678"})
    assert status == 403
    assert (await console.client.get("/settings", allow_redirects=False)).status == 403
    assert await contact_store.count(console.app[keys.DB]) == 0


async def test_export_streams_csv_with_formulas_neutralised(admin: Console) -> None:
    await admin.get("/contacts/new")
    await admin.post("/contacts/new", {"mobile": "0612345678", "last_name": "=HYPERLINK(1)", "first_name": "Éa"})
    resp = await admin.client.get("/contacts/export")
    body = (await resp.read()).decode("utf-8-sig")
    assert resp.status == 200 and "attachment" in resp.headers["Content-Disposition"]
    assert "+33612345678;'=HYPERLINK(1);Éa" in body
    resp = await admin.client.get("/contacts/export?format=json")
    assert (await resp.json())["contacts"][0]["last_name"] == "=HYPERLINK(1)"


async def test_the_unknown_alert_counts_in_french(admin: Console) -> None:
    from gatewayd.outbound.model import NewMessage
    from gatewayd.store import messages as message_store

    rows = await admin.app[keys.OUTBOUND].submit([NewMessage(f"+3361100000{i}", "x", source="console")
                                                  for i in range(2)])
    fr = {"Accept-Language": "fr"}
    async with admin.app[keys.DB].write() as conn:
        await message_store.set_final(conn, [rows[0].id], "unknown", admin.clock.now())
    _, page = await admin.get("/", headers=fr)
    assert "1 message est à l&#39;état « inconnu »" in page
    async with admin.app[keys.DB].write() as conn:
        await message_store.set_final(conn, [rows[1].id], "unknown", admin.clock.now())
    _, page = await admin.get("/", headers=fr)
    assert "2 messages sont à l&#39;état « inconnu »" in page


async def test_recipient_type_ahead_finds_contacts_and_groups(admin: Console) -> None:
    from gatewayd.contacts.service import ContactInput

    contacts, groups = admin.app[keys.CONTACTS], admin.app[keys.GROUPS]
    solo, duo = await groups.create("Équipe Lyon", "", None), await groups.create("Équipe Nice", "", None)
    lea = await contacts.create(ContactInput("0611223344", first_name="Léa", last_name="Équipier"), "t")
    hugo = await contacts.create(ContactInput("0622334455", first_name="Hugo"), "t")
    await groups.change_members(solo.id, [lea.id], [])
    await groups.change_members(duo.id, [lea.id, hugo.id], [])
    resp = await admin.client.get("/recipients/search?q=équip", headers={"Accept-Language": "fr"})
    results = (await resp.json())["results"]
    assert [(r["kind"], r["label"], r["sub"]) for r in results] == [
        ("contact", "Léa Équipier", "06 11 22 33 44"),
        ("group", "Équipe Lyon", "1 membre"), ("group", "Équipe Nice", "2 membres")]

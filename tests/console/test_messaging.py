"""New SMS, Sent, Discussions (live), Received, STOP list, calls, lines and the related settings."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from gatewayd import keys
from gatewayd.modem.events import CallEvent, IncomingSms
from gatewayd.store import optouts
from gatewayd.store import threads as thread_store
from gatewayd.store import webhooks as webhook_store

from .conftest import Console, add_user


async def inbound(console: Console, sender: str, text: str, line: str = "line1") -> None:
    """An SMS arriving through the same entry point the modem driver uses."""
    when = console.clock.now()
    await console.app[keys.INBOUND].handle_sms(
        IncomingSms(line, sender, text, when, None, f"raw-{sender}-{text}-{when.isoformat()}"))


async def send_form(admin: Console, **fields: object) -> tuple[int, str, object]:
    await admin.get("/sms/new")
    data: list[tuple[str, object]] = []
    for name, value in fields.items():
        for v in value if isinstance(value, list) else [value]:
            data.append((name, v))
    return await admin.post("/sms/new", data)


async def test_new_sms_to_several_numbers_contacts_and_a_group(admin: Console) -> None:
    contacts = admin.app[keys.CONTACTS]
    from gatewayd.contacts.service import ContactInput

    ana = await contacts.create(ContactInput("0611111111", first_name="Ana"), "t")
    group = await admin.app[keys.GROUPS].create("Team", "", None)
    bob = await contacts.create(ContactInput("0622222222", first_name="Bob"), "t")
    await admin.app[keys.GROUPS].change_members(group.id, [bob.id, ana.id], [])
    fields = dict(text="Bonjour", number=["06 33 33 33 33", "+33611111111"], contact=str(ana.id),
                  group=str(group.id), category="transactional")
    status, body, _ = await send_form(admin, **fields)
    # A group is many people: the page first says how many recipients and SMS, and nothing leaves.
    assert status == 200 and 'id="sms-confirm"' in body and "3 destinataires : 3 SMS au total" in body
    assert await admin.app[keys.OUTBOUND].list(limit=10) == []
    token = re.search(r'name="confirmed" value="([^"]+)"', body)
    assert token and token.group(1) == "3:3"
    status, body, _ = await send_form(admin, **fields, confirmed=token.group(1))
    assert status == 303, body
    rows = await admin.app[keys.OUTBOUND].list(limit=10)
    assert sorted(r.to for r in rows) == ["+33611111111", "+33622222222", "+33633333333"]   # each once
    assert {r.source for r in rows} == {"console"} and {r.state for r in rows} == {"queued"}
    assert {r.created_by for r in rows} == {"console admin"}  # who asked, for the whole office to see
    status, page = await admin.get(f"/sent/{rows[0].id}", headers={"Accept-Language": "fr"})
    assert '<dd id="message-author">admin (console)</dd>' in page


async def test_an_empty_group_cannot_be_chosen(admin: Console) -> None:
    empty = await admin.app[keys.GROUPS].create("Vide", "", None)
    resp = await admin.client.get("/recipients/search?q=Vid", headers={"Accept-Language": "fr"})
    [found] = [r for r in (await resp.json())["results"] if r["kind"] == "group"]
    assert found["disabled"] is True and "sans contact" in found["why"]
    status, body, _ = await send_form(admin, text="Bonjour", group=str(empty.id))
    assert status == 422 and "« Vide » n’a aucun contact" in body
    assert await admin.app[keys.OUTBOUND].list(limit=10) == []


async def test_new_sms_names_the_bad_number_and_keeps_the_text(admin: Console) -> None:
    status, body, _ = await send_form(admin, text="Keep me", number=["0612", "0633333333"])
    assert status == 422 and "« 0612 » n&#39;est pas un numéro de téléphone valide" in body and "Keep me" in body
    # The service's reason is shown in the page's language (French here: no Accept-Language, site default).
    assert "trop court" in body or "mauvais nombre de chiffres" in body or "non valide" in body
    assert await admin.app[keys.OUTBOUND].list(limit=10) == []
    status, body, _ = await send_form(admin, text="", number="0633333333")
    assert status == 422


async def test_scheduled_sms_uses_the_box_time_zone(admin: Console) -> None:
    status, _, resp = await send_form(admin, text="Later", number="0633333333", schedule="on",
                                      send_at="2026-01-06T08:30")
    assert status == 303
    [row] = await admin.app[keys.OUTBOUND].list(limit=1)
    assert row.state == "scheduled"
    assert row.send_at == datetime(2026, 1, 6, 7, 30, tzinfo=UTC)   # Paris is UTC+1 in January


async def test_sent_search_filter_detail_cancel(admin: Console) -> None:
    await send_form(admin, text="Votre colis 4711 arrive", number="0633333333")
    await send_form(admin, text="Rendez-vous demain", number="0644444444")
    status, body = await admin.get("/sent?q=colis")
    assert "Votre colis 4711" in body and "Rendez-vous" not in body
    status, body = await admin.get("/sent?q=06 44 44 44 44")
    assert "Rendez-vous" in body and "colis" not in body
    status, body = await admin.get("/sent?q=0644")
    assert "Rendez-vous" in body and "colis" not in body
    status, body = await admin.get("/sent?state=delivered")
    assert "Rendez-vous" not in body
    [row] = await admin.app[keys.OUTBOUND].list(limit=1, to="+33644444444")
    status, body = await admin.get(f"/sent/{row.id}")
    assert status == 200 and "Rendez-vous demain" in body
    status, _, _ = await admin.post(f"/sent/{row.id}/cancel")
    assert status == 303
    assert (await admin.app[keys.OUTBOUND].get(row.id)).message.state == "canceled"
    status, body, _ = await admin.post(f"/sent/{row.id}/resend")
    assert status == 409           # only failed or unknown messages are resent
    resp = await admin.client.get(f"/sent/states?ids={row.id}")
    assert (await resp.json())["states"][str(row.id)]["state"] == "canceled"


async def test_discussion_shows_inbound_as_text_live_and_replies(admin: Console) -> None:
    await inbound(admin, "+33655555555", "Bonjour <script>alert('x')</script> & merci")
    [thread] = await thread_store.listing(admin.app[keys.DB])
    status, body = await admin.get("/discussions")
    assert 'class="badge"' in body and "&lt;script&gt;" in body and "<script>alert" not in body
    status, body = await admin.get(f"/discussions/{thread.id}")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; merci" in body
    after = re.search(r'data-after="([^"]+)"', body)
    assert after
    assert (await thread_store.get(admin.app[keys.DB], thread.id)).unread == 0       # opening reads it
    resp = await admin.client.get(f"/discussions/{thread.id}/live?after={after.group(1)}")
    assert (await resp.json())["html"] == ""
    admin.clock.advance(5)
    await inbound(admin, "+33655555555", "Second <b>message</b>")
    data = await (await admin.client.get(f"/discussions/{thread.id}/live?after={after.group(1)}")).json()
    assert "Second &lt;b&gt;message&lt;/b&gt;" in data["html"] and data["after"] != after.group(1)
    status, _, _ = await admin.post(f"/discussions/{thread.id}/reply", {"text": "Merci à vous"})
    assert status == 303
    [reply] = await admin.app[keys.OUTBOUND].list(limit=1, thread_id=thread.id)
    # This console runs without modems: the pool has no line1, so any line will answer (the matrix in
    # tests/outbound/test_send_matrix.py checks the reply goes out on the thread's line when it exists).
    assert reply.to == "+33655555555" and reply.line is None and reply.text == "Merci à vous"
    assert reply.created_by == "console admin"
    data = await (await admin.client.get(f"/discussions/{thread.id}/live?after={data['after']}")).json()
    assert "Merci à vous" in data["html"]
    live = await (await admin.client.get("/discussions/live")).json()
    assert "Merci à vous" in live["html"]


async def test_stop_by_sms_appears_in_the_stop_list_and_manual_changes_are_kept(admin: Console) -> None:
    await inbound(admin, "+33666666666", "STOP")
    status, body = await admin.get("/stop-list")
    assert "06 66 66 66 66" in body and ("by SMS" in body or "par SMS" in body)
    status, body, _ = await admin.post("/stop-list", {"number": "07 81 23 45 67", "note": "asked by phone"})
    assert status == 303
    async with admin.app[keys.DB].read() as conn:
        assert await optouts.is_opted_out(conn, "+33781234567")
    status, body, _ = await admin.post("/stop-list", {"number": "12"})
    assert status == 422
    assert 'name="note" required' in (await admin.get("/stop-list"))[1]
    status, body, _ = await admin.post("/stop-list/remove", {"number": "+33781234567", "note": "  "})
    assert status == 422 and ("say why this number" in body or "indiquez pourquoi" in body)
    status, _, _ = await admin.post("/stop-list/remove", {"number": "+33781234567", "note": "asked again"})
    assert status == 303
    status, body = await admin.get("/stop-list?number=0781234567")
    assert "asked by phone" in body and "asked again" in body and body.count("07 81 23 45 67") >= 2
    async with admin.app[keys.DB].read() as conn:
        assert not await optouts.is_opted_out(conn, "+33781234567")


async def test_received_and_calls_pages(admin: Console) -> None:
    await inbound(admin, "+33677777777", "Horaires d'ouverture ?")
    now = admin.clock.now()
    await admin.app[keys.INBOUND].handle_call(CallEvent("line1", "+33677777777", now - timedelta(seconds=20), now,
                                                        3, False))
    status, body = await admin.get("/received")
    assert "Horaires" in body
    status, body = await admin.get("/received?q=horaire")
    assert "Horaires" in body
    status, body = await admin.get("/received?q=absent")
    assert "Horaires" not in body
    status, body = await admin.get("/calls")
    assert "06 77 77 77 77" in body


async def test_webhook_secret_shown_once_and_auto_reply_rules(admin: Console) -> None:
    await admin.get("/settings/webhooks")
    status, body, _ = await admin.post("/settings/webhooks", {"url": "ftp://x", "events": "*"})
    assert status == 422
    # Loopback and link-local endpoints are refused (issue 14), in the page's language.
    for url in ("http://169.254.169.254/latest/meta-data", "http://127.0.0.1:8080/admin"):
        status, body, _ = await admin.post("/settings/webhooks", {"url": url, "events": "*"})
        assert status == 422 and "link-local" in body and "allow_local_targets" in body
    status, body, _ = await admin.post("/settings/webhooks", [("url", "https://crm.example/hook"),
                                                               ("events", "inbound.received")])
    assert status == 201 and 'class="secret"' in body
    status, body = await admin.get("/settings/webhooks")
    assert "crm.example/hook" in body and 'class="secret"' not in body
    await admin.get("/settings/auto-replies")
    status, body, _ = await admin.post("/settings/auto-replies", {"keyword": "STOP", "reply": "x"})
    assert status == 422                      # STOP is handled by opt-outs, not a rule
    status, _, _ = await admin.post("/settings/auto-replies", {"keyword": "INFO", "reply": "Ouvert 9h-18h"})
    assert status == 303
    status, body = await admin.get("/settings/auto-replies")
    assert "Ouvert 9h-18h" in body


async def test_operator_sends_but_viewer_cannot(console: Console) -> None:
    await add_user(console, "admin", "admin")
    await add_user(console, "olga", "operator")
    await add_user(console, "vera", "viewer")
    await console.login("vera")
    assert (await console.client.get("/sms/new", allow_redirects=False)).status == 403
    status, _, _ = await console.post("/stop-list", {"number": "0612345678"})
    assert status == 403
    await console.logout()
    await console.login("olga")
    # An operator may add a STOP but not remove one (the opt-out service's rule, issue 14): no
    # form is shown, and posting it anyway is refused with the catalogue's wording.
    status, _, _ = await console.post("/stop-list", {"number": "0612345678"})
    assert status == 303
    status, body = await console.get("/stop-list")
    assert "06 12 34 56 78" in body and "/stop-list/remove" not in body and 'name="note" required' not in body
    status, body, _ = await console.post("/stop-list/remove", {"number": "+33612345678", "note": "asked"})
    assert status == 403 and ("only an administrator" in body or "seul un administrateur" in body)
    async with console.app[keys.DB].read() as conn:
        assert await optouts.is_opted_out(conn, "+33612345678")
    status, _, _ = await send_form(console, text="Hi", number="0633333333")
    assert status == 303
    assert (await console.client.get("/settings/webhooks", allow_redirects=False)).status == 403


async def test_new_sms_fills_a_typed_variable_from_the_contact(admin: Console) -> None:
    """An office user typing {first_name} in New SMS means the contact's first name (QA walk-through:
    it was sent literally, "Bonjour {first_name}"); braces are written {{ }}."""
    from gatewayd.contacts.service import ContactInput

    ana = await admin.app[keys.CONTACTS].create(ContactInput("0611111111", first_name="Ana"), "t")
    status, body, _ = await send_form(admin, text="Bonjour {first_name}, code {{A}} {titre|cher client}",
                                      contact=str(ana.id), category="transactional")
    assert status == 303, body
    rows = await admin.app[keys.OUTBOUND].list(limit=10)
    assert [r.text for r in rows] == ["Bonjour Ana, code {A} cher client"]


async def test_new_sms_names_an_unresolved_variable_in_the_page_language(admin: Console) -> None:
    for language, words in (("fr", "n'a pas de valeur pour +33633333333"), ("en", "has no value for +33633333333")):
        await admin.get("/sms/new", headers={"Accept-Language": language})
        status, body, _ = await admin.post("/sms/new", [("number", "0633333333"), ("text", "Bonjour {first_name}"),
                                                        ("category", "transactional")],
                                           headers={"Accept-Language": language})
        assert status == 422, body
        body = html.unescape(body)
        assert words in body and "{first_name}" in body and "problem.variable" not in body, body
        assert "Bonjour {first_name}" in body  # the text typed is kept
    assert await admin.app[keys.OUTBOUND].list(limit=10) == []


async def test_webhook_test_event_and_replay_from_the_console(admin: Console) -> None:
    await admin.get("/settings/webhooks")
    status, _, _ = await admin.post("/settings/webhooks", [("url", "https://crm.example/hook"),
                                                            ("events", "inbound.received")])
    assert status == 201
    [endpoint] = await webhook_store.list_endpoints(admin.app[keys.DB])
    status, body = await admin.get("/settings/webhooks")
    assert f"/settings/webhooks/{endpoint.id}/test" in body
    status, _, answer = await admin.post(f"/settings/webhooks/{endpoint.id}/test", {})
    assert status == 303 and "done=webhook_test_queued" in answer.headers["Location"]
    [queued] = await webhook_store.deliveries(admin.app[keys.DB], endpoint_id=endpoint.id)
    assert queued.event_type == "webhook.test"
    status, body = await admin.get(answer.headers["Location"])
    assert "webhook.test" in body and ("Test event queued" in body or "Événement de test en file" in body)
    # Still being tried: no replay offered, and a forged replay is refused.
    async with admin.app[keys.DB].write() as conn:
        await conn.execute("UPDATE webhook_deliveries SET next_at = '2999-01-01T00:00:00Z' WHERE id = ?", (queued.id,))
    status, body = await admin.get(f"/settings/webhooks?endpoint={endpoint.id}")
    assert f"/deliveries/{queued.id}/replay" not in body
    status, _, _ = await admin.post(f"/settings/webhooks/{endpoint.id}/deliveries/{queued.id}/replay", {})
    assert status == 409
    async with admin.app[keys.DB].write() as conn:
        await conn.execute("UPDATE webhook_deliveries SET state = 'failed', finished_at = next_at WHERE id = ?",
                           (queued.id,))
    status, body = await admin.get(f"/settings/webhooks?endpoint={endpoint.id}")
    assert f"/deliveries/{queued.id}/replay" in body
    status, _, answer = await admin.post(f"/settings/webhooks/{endpoint.id}/deliveries/{queued.id}/replay", {})
    assert status == 303 and "done=webhook_replayed" in answer.headers["Location"]
    log = await webhook_store.deliveries(admin.app[keys.DB], endpoint_id=endpoint.id)
    assert [(d.event_id, d.state) for d in log][:2] == [(queued.event_id, "pending"), (queued.event_id, "failed")]

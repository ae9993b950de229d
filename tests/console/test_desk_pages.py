"""The desk's conversation page and dashboard, read as HTML over the real app (the browser walk is
in test_desk_browser.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock
from gatewayd.contacts.service import ContactInput
from gatewayd.modem.events import IncomingSms
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import threads as thread_store

from .conftest import Console, ConsoleFactory, add_user

FR = {"Accept-Language": "fr"}


async def inbound(console: Console, sender: str, text: str) -> None:
    console.clock.advance(1)
    when = console.clock.now()
    await console.app[keys.INBOUND].handle_sms(IncomingSms("line1", sender, text, when, None, f"raw-{sender}-{text}"))


async def test_a_conversation_shows_the_campaign_sms_the_contact_and_the_stop_banner(admin: Console) -> None:
    ana = await admin.app[keys.CONTACTS].create(ContactInput("0612340101", first_name="Ana", last_name="Lopez"), "t")
    await admin.app[keys.OUTBOUND].submit([NewMessage(to="+33612340101", text="Soldes -20 % ce week-end",
                                                      category=Category.MARKETING, source="campaign")])
    await inbound(admin, "+33612340101", "C'est valable en magasin ?")
    await inbound(admin, "+33612340101", "STOP")
    [thread] = await thread_store.listing(admin.app[keys.DB])
    status, body = await admin.get(f"/discussions/{thread.id}", headers=FR)
    assert status == 200
    assert body.index("Soldes -20 % ce week-end") < body.index("valable en magasin")   # what they answer, first
    assert "<h1>Ana Lopez" in body and f'href="/contacts/{ana.id}" id="contact-link"' in body
    assert 'id="stop-banner"' in body and "STOP" in body
    await inbound(admin, "+33698765432", "Bonjour")
    [other] = [t for t in await thread_store.listing(admin.app[keys.DB]) if t.number == "+33698765432"]
    status, body = await admin.get(f"/discussions/{other.id}", headers=FR)
    assert 'id="stop-banner"' not in body and 'href="/contacts/new?mobile=%2B33698765432"' in body


async def test_unread_count_in_the_menu_title_dashboard_and_its_live_figure(admin: Console) -> None:
    status, body = await admin.get("/sent", headers=FR)
    assert re.search(r'<span class="badge" data-unread[^>]* hidden>0</span>', body)
    assert "<title>Envoyés" in body
    await inbound(admin, "+33612340101", "Un")
    await inbound(admin, "+33612340101", "Deux")
    await inbound(admin, "+33698765432", "Trois")
    status, body = await admin.get("/sent", headers=FR)
    assert re.search(r'<span class="badge" data-unread[^>]*>3</span>', body) and "<title>(3) Envoyés" in body
    status, body = await admin.get("/", headers=FR)
    assert re.search(r'id="tile-unread"[^>]*><span class="figure" data-unread data-unread-figure>3</span>', body)
    data = await (await admin.client.get("/discussions/unread.json")).json()
    assert data == {"unread": 3, "label": "3"}


async def test_dashboard_has_the_latest_messages_failures_and_stop_of_the_day(admin: Console) -> None:
    outbound = admin.app[keys.OUTBOUND]
    rows = await outbound.submit([NewMessage(to=f"+3361100000{i}", text=f"Rappel rendez-vous {i}", source="api")
                                  for i in range(7)])
    async with admin.app[keys.DB].write() as conn:   # two fail today (as the dispatcher records it)
        await conn.execute("UPDATE messages SET state = 'failed' WHERE id IN (?, ?)", (rows[0].id, rows[1].id))
    await inbound(admin, "+33612340101", "STOP")
    await inbound(admin, "+33698765432", "Je confirme <b>demain</b>")
    status, body = await admin.get("/", headers=FR)
    assert re.search(r'id="tile-failed"[^>]*><span class="figure">2</span>', body)
    assert re.search(r'id="tile-stop"[^>]*><span class="figure">1</span>', body)
    latest_sent = body[body.index('id="latest-sent"'):body.index('id="latest-received"')]
    assert "Rappel rendez-vous 6" in latest_sent and "Rappel rendez-vous 1" not in latest_sent   # the 5 newest
    latest_received = body[body.index('id="latest-received"'):]
    assert "Je confirme &lt;b&gt;demain&lt;/b&gt;" in latest_received
    assert re.search(r'id="tile-lines"[^>]*><span class="figure">0 / 0</span>', body)
    admin.clock.advance(86_400)           # the next day starts at zero
    await admin.login("admin")
    status, body = await admin.get("/", headers=FR)
    assert re.search(r'id="tile-failed"[^>]*><span class="figure">0</span>', body)
    assert re.search(r'id="tile-stop"[^>]*><span class="figure">0</span>', body)


async def test_the_api_and_the_console_say_why_a_message_waits(console_factory: ConsoleFactory) -> None:
    console = await console_factory(quiet_hours={"enabled": True, "send_from": "09:00", "send_until": "20:00"})
    console.clock.set(datetime(2026, 1, 11, 11, 0, tzinfo=UTC))          # a Sunday, 12:00 in Paris
    app = console.app
    [m] = await app[keys.OUTBOUND].submit([NewMessage(to="+33612340101", text="Soldes", category=Category.MARKETING,
                                                      source="campaign")])
    key = await create_key(app[keys.DB], SystemClock(), "t", {"read"})
    resp = await console.client.get(f"/api/v1/messages/{m.id}", headers={"Authorization": f"Bearer {key.token}"})
    body = await resp.json()
    assert body["state"] == "queued"
    assert body["waiting"] == {"reason": "quiet_hours", "until": "2026-01-12T08:00:00.000Z", "modem": None}
    await add_user(console, "admin", "admin")
    await console.login("admin")
    status, page = await console.get(f"/sent/{m.id}", headers=FR)
    assert status == 200 and "Attend la plage d’envoi marketing (lundi 12 janvier à 09:00)" in page
    status, page = await console.get("/sent", headers={"Accept-Language": "en"})
    assert "Waits for the marketing window (Monday 12 January at 09:00)" in page


async def test_technical_words_are_french_on_the_pages_office_users_read(admin: Console) -> None:
    [m] = await admin.app[keys.OUTBOUND].submit([NewMessage(to="+33612340101", text="Rendez-vous", source="api")])
    async with admin.app[keys.DB].write() as conn:   # a report said the network gave up (as outcomes.py stores it)
        await conn.execute("UPDATE messages SET state = 'failed', error = ?, error_key = 'report.failed',"
                           " error_params = ? WHERE id = ?",
                           ("delivery report: validity period expired (TP-ST 0x46)",
                            '{"meaning": "validity period expired", "status": "0x46"}', m.id))
    status, body = await admin.get(f"/sent/{m.id}", headers=FR)
    assert "accusé de réception : durée de validité expirée (TP-ST 0x46)" in body
    assert "validity period" not in body
    status, body = await admin.get("/groups/new", headers=FR)
    assert '<option value="last_name">Nom</option>' in body or '<option value="last_name" selected>Nom</option>' in body
    assert ">last_name<" not in body and ">first_name<" not in body

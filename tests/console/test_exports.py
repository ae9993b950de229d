"""Sent and Received exported for a period, as an office user downloads them: the box's calendar
days (not UTC's), every page of a long month, the list's filters, French headers, safe cells."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from gatewayd import keys
from gatewayd.outbound.model import NewMessage
from gatewayd.store import inbound, optouts

from .conftest import Console, add_user

# Europe/Paris is UTC+1 in November: these instants sit on either side of its day boundaries.
OCT_31_LATE = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)     # 31 Oct 23:30 in Paris
NOV_1_EARLY = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)     # 1 Nov 00:30 in Paris
NOV_15 = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
NOV_30_LATE = datetime(2026, 11, 30, 22, 59, tzinfo=UTC)     # 30 Nov 23:59 in Paris
DEC_1_EARLY = datetime(2026, 11, 30, 23, 0, tzinfo=UTC)      # 1 Dec 00:00 in Paris
BULK = 1500  # more than one page of the export


def _rows(body: bytes) -> list[list[str]]:
    assert body.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


async def _send(admin: Console, when: datetime, *messages: tuple[str, str]) -> list[int]:
    admin.clock.set(when)
    rows = await admin.app[keys.OUTBOUND].submit([NewMessage(to=to, text=text, source="console")
                                                  for to, text in messages])
    return [r.id for r in rows]


async def _month_of_traffic(admin: Console) -> dict[str, int]:
    ids = {}
    [ids["october"]] = await _send(admin, OCT_31_LATE, ("+33611000001", "Octobre"))
    [ids["first"]] = await _send(admin, NOV_1_EARLY, ("+33611000002", "Bonjour, votre commande est prête"))
    [ids["formula"]] = await _send(admin, NOV_15, ("+33611000003", "=SUM(A1:A9)"))
    await admin.app[keys.OUTBOUND].cancel(ids["formula"])  # (moving the clock on expires the others)
    await _send(admin, NOV_15, *((f"+336120{i:05d}", f"Rappel {i}") for i in range(BULK)))
    [ids["last"]] = await _send(admin, NOV_30_LATE, ("+33611000004", "Dernier de novembre"))
    [ids["december"]] = await _send(admin, DEC_1_EARLY, ("+33611000005", "Décembre"))
    await admin.login("admin")  # a month went by on the clock: the session expired meanwhile
    return ids


async def test_sent_export_covers_the_box_calendar_month_in_french(admin: Console) -> None:
    ids = await _month_of_traffic(admin)
    fr = {"Accept-Language": "fr"}
    status, page = await admin.get("/sent", headers=fr)
    # The form proposes this month so far (the clock is on 1 December in Paris).
    assert status == 200 and 'name="from" value="2026-12-01"' in page and 'name="to" value="2026-12-01"' in page

    resp = await admin.client.get("/sent/export.csv?from=2026-11-01&to=2026-11-30", headers=fr)
    assert resp.status == 200, await resp.text()
    assert 'filename="sent-2026-11-01-2026-11-30.csv"' in resp.headers["Content-Disposition"]
    rows = _rows(await resp.read())
    assert rows[0][:5] == ["N° de message", "Accepté le", "Destinataire", "Texte", "État"]
    body = rows[1:]
    assert len(body) == BULK + 3
    assert [int(r[0]) for r in body] == sorted(int(r[0]) for r in body)  # oldest first, no page twice
    assert int(body[0][0]) == ids["first"] and body[0][1] == "2026-11-01 00:30:00"
    assert int(body[-1][0]) == ids["last"] and body[-1][1] == "2026-11-30 23:59:00"
    formula = next(r for r in body if int(r[0]) == ids["formula"])
    assert formula[3] == "'=SUM(A1:A9)" and formula[4] == "annulé"

    # The list's own filters come along: a state, then words of the text.
    resp = await admin.client.get("/sent/export.csv?from=2026-11-01&to=2026-11-30&state=canceled", headers=fr)
    assert [int(r[0]) for r in _rows(await resp.read())[1:]] == [ids["formula"]]
    resp = await admin.client.get("/sent/export.csv?from=2026-10-01&to=2026-12-31&q=commande", headers=fr)
    assert [int(r[0]) for r in _rows(await resp.read())[1:]] == [ids["first"]]
    resp = await admin.client.get("/sent/export.csv?from=2026-10-01&to=2026-12-31&q=06 11 00 00 05", headers=fr)
    assert [int(r[0]) for r in _rows(await resp.read())[1:]] == [ids["december"]]


async def test_received_export_in_arrival_order(admin: Console) -> None:
    db = admin.app[keys.DB]
    async with db.write() as conn:
        for when, sender, text in ((NOV_30_LATE, "+33622000003", "Merci"), (OCT_31_LATE, "+33622000001", "Avant"),
                                   (NOV_1_EARLY, "+33622000002", "@cmd|' /C calc'!A0"),
                                   (DEC_1_EARLY, "+33622000004", "Après")):
            await inbound.add_message(conn, thread_id=None, line="line1", sender=sender, text=text, smsc_time=None,
                                      received_at=when)
    resp = await admin.client.get("/received/export.csv?from=2026-11-01&to=2026-11-30",
                                  headers={"Accept-Language": "en"})
    rows = _rows(await resp.read())
    assert rows[0] == ["No.", "Received at", "From", "Text", "Line", "Keyword", "Conversation no."]
    assert [(r[1], r[2], r[3]) for r in rows[1:]] == [
        ("2026-11-01 00:30:00", "'+33622000002", "'@cmd|' /C calc'!A0"),
        ("2026-11-30 23:59:00", "'+33622000003", "Merci")]


async def test_bad_periods_are_refused_saying_why(admin: Console) -> None:
    fr = {"Accept-Language": "fr"}
    for query, words in (("from=2026-13-01", "« 2026-13-01 » n&#39;est pas une date (AAAA-MM-JJ)"),
                         ("from=2026-11-30&to=2026-11-01", "la période se termine avant de commencer"),
                         ("from=2025-01-01&to=2026-11-30", "au plus 366 jours par export"),
                         ("from=9999-12-31&to=9999-12-31", "9999-12-31 est hors des années 2000 à 2999"),
                         ("from=0001-01-01&to=0001-01-02", "0001-01-01 est hors des années 2000 à 2999")):
        resp = await admin.client.get(f"/sent/export.csv?{query}", headers=fr)
        body = await resp.text()
        assert resp.status == 422 and words in body, (query, body[-800:])
        assert (await admin.client.get(f"/received/export.csv?{query}")).status == 422


async def test_a_viewer_cannot_export(admin: Console) -> None:
    await add_user(admin, "val", "viewer")
    await admin.logout()
    await admin.login("val")
    status, page = await admin.get("/sent")
    assert status == 200 and "export.csv" not in page
    for path in ("/sent/export.csv", "/received/export.csv", "/stop-list/export.csv"):
        assert (await admin.client.get(path)).status == 403


async def test_stop_list_export_is_everyone_opted_out_now(admin: Console) -> None:
    db, clock = admin.app[keys.DB], admin.app[keys.CLOCK]
    async with db.write() as conn:
        for i in range(1205):  # more than one page
            await optouts.record(conn, number=f"+3361300{i:04d}", action="out", source="sms", now=clock.now(),
                                 line="line1")
        await optouts.record(conn, number="+33613000007", action="in", source="console", now=clock.now())
        await optouts.record(conn, number="+33699999999", action="out", source="console", now=clock.now())
    status, page = await admin.get("/stop-list", headers={"Accept-Language": "fr"})
    assert status == 200 and 'id="optouts-export"' in page
    resp = await admin.client.get("/stop-list/export.csv", headers={"Accept-Language": "fr"})
    assert resp.status == 200 and "stop-list-2026-01-05.csv" in resp.headers["Content-Disposition"]
    rows = _rows(await resp.read())
    assert rows[0] == ["Numéro", "Depuis", "Comment", "Ligne"]
    numbers = [r[0].lstrip("'") for r in rows[1:]]
    assert len(numbers) == 1205 and len(set(numbers)) == 1205  # 1205 out, one back in, one more out
    assert "+33613000007" not in numbers and "+33699999999" in numbers
    assert rows[1][1:] == ["2026-01-05 10:00:00", "par SMS", "line1"]

"""The messaging desk's lists as an office user walks them: a filtered Sent list keeps its filter
and page size through the pager and into the CSV export; Received finds a sender written any way."""

from __future__ import annotations

import csv
import html
import io
import re

from gatewayd import keys
from gatewayd.modem.events import IncomingSms
from gatewayd.outbound.model import NewMessage

from .conftest import Console

NEXT = re.compile(r'<a href="([^"]+)" rel="next">')


def _next_link(body: str) -> str | None:
    found = NEXT.search(body)
    return html.unescape(found.group(1)) if found else None


def _export_query(body: str) -> dict[str, str]:
    """The hidden fields and dates of the page's export form, as the browser would submit them."""
    form = re.search(r'<details class="export">.*?</details>', body, re.S)
    assert form, "the page has no export form"
    fields = dict(re.findall(r'<input type="(?:hidden|date)" name="([^"]+)" value="([^"]*)"', form.group(0)))
    return {k: html.unescape(v) for k, v in fields.items()}


async def test_a_filtered_sent_list_pages_and_exports_with_its_filter(admin: Console) -> None:
    outbound = admin.app[keys.OUTBOUND]
    rows = await outbound.submit([NewMessage(to=f"+336110000{i:02d}", text=f"Annonce {i}", source="console")
                                  for i in range(40)])
    canceled = {r.id for r in rows[:30]}
    for mid in canceled:
        await outbound.cancel(mid)

    status, body = await admin.get("/sent?state=canceled&size=25")
    assert status == 200
    assert '<option value="canceled" selected>' in body          # the filter shows what is filtered
    assert '<option value="25" selected>' in body                 # ... and the page size chosen
    first = set(map(int, re.findall(r'data-message-id="(\d+)"', body)))
    assert len(first) == 25 and first <= canceled
    link = _next_link(body)
    assert link and "state=canceled" in link and "size=25" in link and "Macro" not in link
    status, body = await admin.get(link)
    second = set(map(int, re.findall(r'data-message-id="(\d+)"', body)))
    assert first | second == canceled and not first & second       # the second page goes on, same filter
    assert '<option value="canceled" selected>' in body

    query = _export_query(body)
    assert query.get("state") == "canceled"
    resp = await admin.client.get("/sent/export.csv", params=query, headers={"Accept-Language": "fr"})
    assert resp.status == 200
    exported = [int(r[0]) for r in list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")), delimiter=";"))[1:]]
    assert set(exported) == canceled


async def test_page_size_is_bounded_to_the_offered_choices(admin: Console) -> None:
    outbound = admin.app[keys.OUTBOUND]
    await outbound.submit([NewMessage(to=f"+336120000{i:02d}", text=f"Info {i}", source="console")
                           for i in range(30)])
    status, body = await admin.get("/sent?size=100000")
    assert status == 200 and len(re.findall(r'data-message-id="', body)) == 30
    assert '<option value="50" selected>' in body                 # an unknown size falls back to the default
    status, body = await admin.get("/sent?size=25")
    assert len(re.findall(r'data-message-id="', body)) == 25


async def test_campaign_list_filter_keeps_its_state(admin: Console) -> None:
    status, body = await admin.get("/campaigns?state=draft")
    assert status == 200 and '<option value="draft" selected>' in body


async def _inbound(console: Console, sender: str, text: str) -> None:
    when = console.clock.now()
    await console.app[keys.INBOUND].handle_sms(IncomingSms("line1", sender, text, when, None, f"raw-{sender}-{text}"))
    console.clock.advance(1)


async def test_received_finds_a_sender_written_any_way(admin: Console) -> None:
    await _inbound(admin, "+33612340101", "Bonjour, ma commande ?")
    await _inbound(admin, "+33698765432", "Autre client")
    for q in ("06 12 34 01 01", "0612340101", "+33612340101", "+33 6 12 34 01 01", "0033612340101"):
        status, body = await admin.get("/received", params={"q": q})
        assert status == 200
        assert "ma commande" in body and "Autre client" not in body, q
    status, body = await admin.get("/received", params={"q": "commande"})   # words still search the text
    assert "ma commande" in body and "Autre client" not in body

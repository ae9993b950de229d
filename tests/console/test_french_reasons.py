"""A French page shows no English service text: why a message is blocked or failed, and why a send is
refused, come as codes the console words from its catalogue (no translation of English sentences)."""

from __future__ import annotations

import re
from pathlib import Path

from gatewayd import keys
from gatewayd.modem.sim import SimNetwork
from gatewayd.problems import ENGLISH, english
from tests.outbound.conftest import gateway
from tests.outbound.test_send_matrix import ConsoleBrowser, _api

EXPIRES = "+33633333333"
OPTED = "+33612345678"


def _english_in(page: str) -> list[str]:
    """The fixed English wordings (their text outside placeholders) that appear in `page`."""
    found = []
    for code, text in ENGLISH.items():
        pieces = [p for p in re.split(r"\{[^}]*\}", text) if len(p.strip()) > 8]
        found += [f"{code}: {p!r}" for p in pieces if p in page]
    return found


async def test_blocked_and_failed_messages_are_explained_in_french(tmp_path: Path) -> None:
    net = SimNetwork()
    net.add_subscriber(EXPIRES, report_status=(0x46,), report_delay=0.05)   # the network gives up on it
    async with gateway(tmp_path, network=net) as gw:
        status, _ = await _api(gw, "POST", "/api/v1/opt-outs", {"number": OPTED})
        assert status in (200, 201)
        _, blocked = await _api(gw, "POST", "/api/v1/messages", {"to": OPTED, "text": "Promo", "category": "marketing"})
        _, expiring = await _api(gw, "POST", "/api/v1/messages",
                                 {"to": EXPIRES, "text": "Rappel", "category": "transactional"})
        failed = await gw.wait_state(expiring["messages"][0]["id"], "failed")
        # The API keeps its English, from the same code.
        assert failed["error"] == english("report.failed", {"meaning": "validity period expired", "status": "0x46"})
        assert (await gw.message(blocked["messages"][0]["id"]))["error"] == english("optout.blocked", {})

        browser = await ConsoleBrowser.signed_in(gw)
        page = await browser.get(f"/sent/{blocked['messages'][0]['id']}")
        assert "destinataire désabonné (vérifié à la mise en file)" in page and not _english_in(page)
        page = await browser.get(f"/sent/{failed['id']}")
        assert "accusé de réception : durée de validité expirée (TP-ST 0x46)" in page, page
        assert not _english_in(page) and "validity period" not in page


async def test_refused_sends_are_explained_in_french(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"sending": {"max_segments": 1}}) as gw:
        browser = await ConsoleBrowser.signed_in(gw)
        await browser.get("/sms/new")
        for form, wanted in (
                ([("text", "x" * 200)], "au plus"),
                ([("text", "Bonjour"), ("line", "line9")], "Il n'y a pas de ligne nommée line9"),
                ([("text", "Bonjour {surnom}"), ("template", "1")], "La variable {surnom} n'a pas de valeur"),
        ):
            if ("template", "1") in form:
                await _api(gw, "POST", "/api/v1/templates", {"title": "t", "text": "Bonjour {surnom}"})
            status, page, _ = await browser.post("/sms/new", [("number", OPTED), ("category", "transactional"),
                                                             *form])
            assert status == 422 and wanted in page.replace("&#39;", "'"), page[-3000:]
            assert not _english_in(page), _english_in(page)
        assert await gw.app[keys.OUTBOUND].list(limit=10) == []

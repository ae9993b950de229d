"""USSD through the whole daemon: the API, the line's driver and a simulated modem over a pty,
for the families that answer in plain text, inside their reply, or in packed hexadecimal."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.outbound.conftest import gateway

from gatewayd import keys
from gatewayd.modem.errors import UssdError
from gatewayd.modem.sim.network import SimNetwork

BALANCE = "Votre solde est de 12,34 EUR. Valable jusqu'au 31/12/2026."


@pytest.mark.parametrize("profile", ["ec25", "sim800", "e3372"])
async def test_balance_check_reads_the_answer_whatever_its_shape(tmp_path: Path, profile: str) -> None:
    net = SimNetwork(ussd_answer=BALANCE)
    net.ussd_codes["#999#"] = None
    async with gateway(tmp_path, network=net, profiles=(profile,)) as gw:
        resp = await gw.client.post("/api/v1/modems/line1/ussd", json={"code": " *1 00# "}, headers=gw.auth)
        body = await resp.json()
        assert resp.status == 200, body
        assert (body["line"], body["code"], body["status"], body["text"]) == ("line1", "*100#", "done", BALANCE)
        assert net.ussd_requests == [("line1", "*100#")]
        resp = await gw.client.post("/api/v1/modems/line1/ussd", json={"code": "#999#"}, headers=gw.auth)
        body = await resp.json()
        assert (body["status"], body["text"]) == ("not_supported", None)
        # The line still sends afterwards.
        status, sent = await gw.post({"to": "+33612345678", "text": "après le solde", "category": "transactional"})
        assert status == 202
        await gw.wait_state(sent["messages"][0]["id"], "sent", "delivered")


async def test_refusals_name_the_problem(tmp_path: Path) -> None:
    (tmp_path / "read").mkdir()
    async with gateway(tmp_path / "read", scopes=("send", "read")) as gw:
        resp = await gw.client.post("/api/v1/modems/line1/ussd", json={"code": "*100#"}, headers=gw.auth)
        assert resp.status == 403  # codes can move credit: admin keys only
    async with gateway(tmp_path) as gw:
        for line, body, status, field in (("line1", {"code": '*100#",15\rAT+CMGD=1,4'}, 422, "code"),
                                          ("line1", {"code": "100"}, 422, "code"),
                                          ("line1", {}, 422, "code"),
                                          ("line9", {"code": "*100#"}, 404, None)):
            resp = await gw.client.post(f"/api/v1/modems/{line}/ussd", json=body, headers=gw.auth)
            problem = await resp.json()
            assert resp.status == status, problem
            if field:
                assert problem["errors"][0]["field"] == field
        assert gw.network.ussd_requests == []  # nothing reached the modem


async def test_no_answer_from_the_network_times_out_and_the_line_carries_on(tmp_path: Path) -> None:
    net = SimNetwork()
    net.ussd_unanswered.add("*555#")
    async with gateway(tmp_path, network=net) as gw:
        with pytest.raises(UssdError, match="no answer from the network within 0.3 s"):
            await gw.app[keys.POOL].ussd("line1", "*555#", timeout=0.3)
        answer = await gw.app[keys.POOL].ussd("line1", "*100#", timeout=5)
        assert answer.text == "Votre solde est de 12,34 EUR."


async def test_a_late_answer_is_never_taken_for_the_next_request(tmp_path: Path) -> None:
    # +CUSD carries no request id: the answer to a timed-out *100# must not become *200#'s.
    net = SimNetwork(ussd_answer="the answer to *200#")
    net.ussd_codes["*100#"] = "the late answer to *100#"
    net.ussd_delays["*100#"] = 0.4   # arrives while *200# (slower still) is waiting
    net.ussd_delays["*200#"] = 0.5
    async with gateway(tmp_path, network=net) as gw:
        pool = gw.app[keys.POOL]
        with pytest.raises(UssdError, match="no answer"):
            await pool.ussd("line1", "*100#", timeout=0.2)
        answer = await pool.ussd("line1", "*200#", timeout=5)
        assert answer.text == "the answer to *200#"


async def test_a_menu_is_answered_then_closed(tmp_path: Path) -> None:
    net = SimNetwork(ussd_answer="1. Solde 2. Forfait")
    net.ussd_menus.add("*111#")
    async with gateway(tmp_path, network=net) as gw:
        resp = await gw.client.post("/api/v1/modems/line1/ussd", json={"code": "*111#"}, headers=gw.auth)
        body = await resp.json()
        assert (body["status"], body["text"]) == ("more_input", "1. Solde 2. Forfait")
        gw.network.ussd_codes["*100#"] = "Solde 3 EUR"
        answer = await gw.app[keys.POOL].ussd("line1", "*100#", timeout=5)
        assert answer.text == "Solde 3 EUR"
        assert [code for _, code in gw.network.ussd_requests] == ["*111#", "*100#"]

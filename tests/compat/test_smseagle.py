"""SMSEagle's APIs driven by Apprise's real `smseagle://` notifier (and JSON-RPC reads) through the
simulator: messages land in the ledger, reach the phones and read back in SMSEagle's shapes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import apprise

from gatewayd import keys
from gatewayd.store import contacts as contact_store
from gatewayd.store import groups as group_store
from gatewayd.store.contacts import ContactData

from tests.outbound.conftest import Gateway, gateway

from .conftest import base_url, blocking, until_result


def notifier(gw: Gateway, targets: str, **query: str) -> apprise.Apprise:
    host = base_url(gw).removeprefix("http://")
    args = "&".join(f"{k}={v}" for k, v in query.items())
    hub = apprise.Apprise()
    assert hub.add(f"smseagle://{gw.token}@{host}/{targets}" + (f"?{args}" if args else ""))
    return hub


async def rpc(gw: Gateway, method: str, **params: Any) -> Any:
    resp = await gw.client.post("/jsonrpc/sms", json={"method": method, "params": {"access_token": gw.token, **params}})
    assert resp.status == 200
    return (await resp.json())["result"]


async def add_contact(gw: Gateway, mobile: str, first: str, last: str, group: str | None = None) -> None:
    now = gw.app[keys.CLOCK].now()
    async with gw.app[keys.DB].write() as conn:
        cid = await contact_store.insert(conn, ContactData(mobile=mobile, last_name=last, first_name=first), now)
        if group is not None:
            found = await group_store.by_names(conn, [group])
            gid = found.get(group.lower()) or await group_store.insert(conn, name=group, description="", rule=None,
                                                                       now=now)
            await group_store.add_members(conn, gid, [cid], now)


async def test_apprise_sends_to_numbers_groups_and_contacts(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        for n in ("+33612345678", "+33687654321", "+33611111111"):
            gw.network.add_subscriber(n)
        await add_contact(gw, "+33687654321", "Alice", "Martin", group="oncall")
        await add_contact(gw, "+33611111111", "Bob", "Durand")
        hub = notifier(gw, "+33612345678/#oncall/@Durand")
        assert await blocking(hub.notify, body="Disk full on srv1 é")
        await gw.network.wait_received(3)
        texts = {r.recipient: r.text for r in gw.network.received}
        assert texts == {n: "Disk full on srv1 é" for n in ("+33612345678", "+33687654321", "+33611111111")}
        # The ledger says who asked, and the SMSEagle reads see the same messages.
        sent = await until_result(lambda: rpc(gw, "sms.read_sms", folder="sentitems"),
                                  lambda r: len(r.get("messages", [])) == 3)  # the ledger commits `sent` last
        assert {m["DestinationNumber"] for m in sent["messages"]} == set(texts)
        mid = int(sent["messages"][0]["ID"])
        assert (await gw.message(mid))["created_by"] == "api key test (SMSEagle)"


async def test_jsonrpc_answers_as_smseagle_does(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2) as gw:
        gw.network.add_subscriber("+33612345678")
        simple = await rpc(gw, "sms.send_sms", to="0612345678", message="hello")
        assert simple["status"] == "ok" and simple["message_id"].isdigit()
        extended = await rpc(gw, "sms.send_sms", to="+33612345678,+33687654321", message="hi", responsetype="extended",
                             highpriority=1, modem_no=2)
        assert [(e["phone_number"], e["status"]) for e in extended] == [("+33612345678", "ok"), ("+33687654321", "ok")]
        row = await gw.wait_state(int(extended[0]["message_id"]), "delivered")
        assert row["modem"] == "line2" and row["priority"] == -10
        # test=1: every rule checked, nothing stored.
        before = set(await gw.states())
        tested = await rpc(gw, "sms.send_sms", to="+33612345678", message="dry run", test=1)
        assert tested == {"status": "ok", "test": 1} and set(await gw.states()) == before
        # Refusals name the problem, in SMSEagle's error shape.
        flash = await rpc(gw, "sms.send_sms", to="+33612345678", message="x", flash=1)
        assert flash["status"] == "error" and flash["error_code"] == "flash.unsupported"
        mms = await rpc(gw, "sms.send_sms", to="+33612345678", message="x", message_type="mms")
        assert mms["error_code"] == "message.unsupported" and "MMS" in mms["error_text"]
        assert (await rpc(gw, "sms.send_togroup", groupname="nobody", message="x"))["error_code"] == "group.not_found"
        assert (await rpc(gw, "sms.send_sms", to="+33612345678", message="x", modem_no=3))["error_code"] == "sim.unknown"
        bad = await gw.client.post("/jsonrpc/sms", json={"method": "sms.send_sms",
                                                         "params": {"access_token": "gw_nope_x", "to": "1", "message": "x"}})
        assert (await bad.json())["result"]["status"] == "error"
        assert set(await gw.states()) == before
        # Reads: signal, modems, inbox.
        assert 0 < await rpc(gw, "signal.get_gsmsignal", modem_no=1) <= 100
        modems = await rpc(gw, "modem.get_modem_status")
        assert [(m["modem_no"], m["status"]) for m in modems] == [(1, "connected"), (2, "connected")]
        assert await rpc(gw, "sms.read_sms", folder="inbox") == {"error_text": "No data to display", "status": "error"}
        gw.network.deliver("line1", "+33699999999", "Réponse <b>")
        inbox = await until_result(lambda: rpc(gw, "sms.read_sms", folder="inbox"), lambda r: "messages" in r)
        assert [(m["SenderNumber"], m["TextDecoded"]) for m in inbox["messages"]] == [("+33699999999", "Réponse <b>")]


async def test_v2_sends_and_reports_per_recipient(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        gw.network.add_subscriber("+33612345678")
        resp = await gw.client.post("/api/v2/messages/sms", headers={"access-token": gw.token},
                                    json={"to": ["+33612345678"], "text": "v2 hello", "encoding": "unicode",
                                          "validity": "1h"})
        assert resp.status == 200, await resp.text()
        [item] = await resp.json()
        assert item["status"] == "queued" and item["number"] == "+33612345678" and item["message"] == "v2 hello"
        await gw.wait_state(item["id"], "delivered")
        resp = await gw.client.post("/api/v2/messages/sms", headers={"access-token": gw.token},
                                    json={"to": ["+33612345678"], "text": "x", "flash": True})
        assert resp.status == 422 and (await resp.json())["errors"][0]["code"] == "flash.unsupported"
        resp = await gw.client.post("/api/v2/messages/sms", json={"to": ["+33612345678"], "text": "x"})
        assert resp.status == 401


async def test_switched_off_surface_answers_404(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"smseagle": {"enabled": False}}) as gw:
        hub = notifier(gw, "+33612345678")
        assert not await blocking(hub.notify, body="nope")
        resp = await gw.client.post("/jsonrpc/sms", json={"method": "sms.send_sms", "params": {}})
        assert resp.status == 404
        assert await gw.states() == {}


async def test_http_api_get_as_librenms_sends_it(tmp_path: Path) -> None:
    """LibreNMS's SMSEagle transport: GET /http_api/send_sms?access_token=&to=a,b&message=, success
    when the body starts with OK."""
    async with gateway(tmp_path) as gw:
        resp = await gw.client.get("/index.php/http_api/send_sms", params={
            "access_token": gw.token, "to": "+33612345678,0687654321", "message": "Device down: sw1"})
        text = await resp.text()
        assert resp.status == 200 and text.startswith("OK"), text
        ids = [int(line.removeprefix("OK; ID=[").removesuffix("]")) for line in text.splitlines()]
        assert [(await gw.message(i))["to"] for i in ids] == ["+33612345678", "+33687654321"]
        resp = await gw.client.get("/http_api/send_sms", params={"access_token": "wrong", "to": "1", "message": "x"})
        assert (await resp.text()).startswith("Error: ")
        assert len(await gw.states()) == 2

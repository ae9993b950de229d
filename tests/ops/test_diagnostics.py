"""GET /api/v1/diagnostics over a simulated line: versions, lines, counts, recent errors; no secret, no full number."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.outbound.conftest import Gateway, gateway

from gatewayd import __version__, keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock
from gatewayd.config import Settings
from gatewayd.ops.diagnostics import (
    REMOVED,
    mask_iccid,
    mask_imsi,
    redact_config,
    redact_url,
)
from gatewayd.store.migrations import available

FAST_HOOKS = {"webhooks": {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "timeout_seconds": 1.0}}
STOP_NUMBER = "+33639980001"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def bundle(gw: Gateway) -> dict[str, Any]:
    resp = await gw.client.get("/api/v1/diagnostics", headers=gw.auth)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("application/json")
    return await resp.json()  # type: ignore[no-any-return]


async def test_bundle_reports_the_box_and_hides_secrets_and_numbers(tmp_path: Path) -> None:
    sections = {**FAST_HOOKS, "campaigns": {"stop_number": STOP_NUMBER, "stop_mention": "STOP au {number}"}}
    async with gateway(tmp_path, lines=1, sections=sections) as gw:
        # A webhook whose URL carries credentials, towards a port where nobody listens: its deliveries fail.
        hook_url = f"http://ops:hunter2@127.0.0.1:{_closed_port()}/hook?token=s3cr3t-t0k3n"
        resp = await gw.client.post("/api/v1/webhooks", json={"url": hook_url, "events": ["message.failed"]},
                                    headers=gw.auth)
        assert resp.status == 201, await resp.text()
        hook_secret = (await resp.json())["secret"]

        gw.modems[0].fail_next(1)  # +CMS ERROR 1, unassigned number: fails at once
        status, body = await gw.post({"to": "+33612345678", "text": "Votre code 4711", "category": "transactional"})
        assert status == 202, body
        failed_id = body["messages"][0]["id"]
        await gw.wait_state(failed_id, "failed")
        status, body = await gw.post({"to": "+33698765432", "text": "Rendez-vous jeudi", "category": "transactional"})
        await gw.wait_state(body["messages"][0]["id"], "delivered")
        later = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        status, body = await gw.post({"to": "+33611223344", "text": "Demain", "category": "transactional",
                                      "send_at": later})
        assert status == 202, body
        logging.getLogger("gatewayd.modem.test").warning("line1 answered oddly for +33677889900")

        async def hook_failed() -> bool:
            b = await bundle(gw)
            return bool(b["webhooks"]) and b["webhooks"][0]["last_error"] is not None
        deadline = 100
        while not await hook_failed():
            deadline -= 1
            assert deadline, "the webhook delivery never failed"
            await asyncio.sleep(0.05)

        b = await bundle(gw)
        text = json.dumps(b, ensure_ascii=False)

    # Versions and the daemon.
    assert b["versions"]["gatewayd"] == __version__
    assert b["versions"]["sqlite"] == sqlite3.sqlite_version
    assert b["versions"]["libraries"]["aiohttp"]
    assert b["system"]["kernel"] and b["system"]["machine"] and b["system"]["data_disk"]["free_bytes"] > 0
    assert b["daemon"]["uptime_s"] >= 0

    # The line as the simulator presents it: identity, with IMSI/ICCID masked.
    [line] = b["lines"]
    modem = gw.modems[0]
    assert line["name"] == "line1" and line["state"] == "ready" and line["registered"] is True
    assert line["imei"] == "865067020000001" and line["model"] and line["manufacturer"] and line["operator"]
    assert 0 <= line["signal_rssi"] <= 31 and line["signal_dbm"] == -113 + 2 * line["signal_rssi"]
    assert line["imsi"] == mask_imsi(modem.state.imsi) and line["imsi"].startswith("20801")
    assert line["iccid"] == mask_iccid(modem.state.iccid) and line["iccid"].startswith("893301")

    # Counts, queue, database.
    assert b["messages"]["by_state"] == {"delivered": 1, "failed": 1, "scheduled": 1}
    assert b["messages"]["scheduled"] == 1 and b["messages"]["queue_depth"] == 0
    db = b["database"]
    assert db["schema_version"] == db["latest_schema_version"] == available()[-1].version
    assert db["journal_mode"] == "wal" and db["page_size"] * db["page_count"] > 0
    assert db["size_bytes"] >= db["file_bytes"] > 0

    # Recent errors: the failed message's code and reason, the warning logged above (numbers masked).
    [failed] = b["recent_errors"]["failed_messages"]
    assert failed["id"] == failed_id and failed["error_code"] == 1 and failed["error"]
    assert failed["to"] == "+336•••••678" and failed["line"] == "line1"
    logged = [r for r in b["recent_errors"]["log"] if r["logger"] == "gatewayd.modem.test"]
    assert [r["level"] for r in logged] == ["WARNING"] and "+336•••••900" in logged[0]["message"]

    # Webhooks: counts and the reason of the failure, URL without credentials.
    [hook] = b["webhooks"]
    assert hook["deliveries"]["pending"] + hook["deliveries"]["failed"] == 1
    assert hook["url"].startswith("http://[removed]@127.0.0.1:") and hook["url"].endswith("/hook?token=[removed]")

    # Configuration in force, secrets out, the STOP number masked.
    assert b["config"]["campaigns"]["stop_number"] == "+336•••••001"
    assert b["config"]["modems"][0]["name"] == "line1" and b["config"]["modems"][0]["pin"] is None

    for secret in ("+33612345678", "+33698765432", "+33611223344", "+33677889900", STOP_NUMBER, modem.state.imsi,
                   modem.state.iccid, "hunter2", "s3cr3t-t0k3n", hook_secret, gw.token, "Votre code", "Rendez-vous jeudi"):
        assert secret not in text, secret


async def test_bundle_needs_the_admin_scope_and_is_documented(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1) as gw:
        assert (await gw.client.get("/api/v1/diagnostics")).status == 401
        read_key = await create_key(gw.app[keys.DB], SystemClock(), "reader", {"send", "read"})
        resp = await gw.client.get("/api/v1/diagnostics", headers={"Authorization": f"Bearer {read_key.token}"})
        assert resp.status == 403
        assert (await resp.json())["status"] == 403
        doc = await (await gw.client.get("/api/v1/openapi.json")).json()
    op = doc["paths"]["/api/v1/diagnostics"]["get"]
    assert op["x-scope"] == "admin" and "x-undocumented" not in op
    assert "lines" in op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]


def test_config_redaction_removes_pins_and_secret_like_keys_and_masks_numbers() -> None:
    settings = Settings(modems=[{"name": "l1", "port": "/dev/ttyUSB2", "pin": "4321"},
                                {"name": "l2", "port": "/dev/ttyUSB5"}],
                        campaigns={"stop_number": STOP_NUMBER, "stop_mention": "STOP au {number}"},
                        inbound={"missed_call_text": "Rappelez le 0612345678 ou le +33612345678"})
    out = redact_config(settings.model_dump(mode="json"))
    assert out["modems"][0]["pin"] == REMOVED and out["modems"][1]["pin"] is None
    assert out["modems"][0]["port"] == "/dev/ttyUSB2" and out["http"]["port"] == 8080  # not secret-like
    assert out["campaigns"]["stop_number"] == "+336•••••001"
    assert "0612345678" not in out["inbound"]["missed_call_text"]
    assert "+33612345678" not in out["inbound"]["missed_call_text"]
    # Any section growing a secret-like key is covered without a change here.
    nested = redact_config({"smtp": {"password": "pw", "api_key": "k", "auth_token": "t", "keyword": "INFO"}})
    assert nested == {"smtp": {"password": REMOVED, "api_key": REMOVED, "auth_token": REMOVED, "keyword": "INFO"}}
    assert "4321" not in json.dumps(out)


def test_masking_keeps_what_support_needs() -> None:
    assert mask_imsi("208011234567801") == "20801••••••••01"
    assert mask_iccid("8933011234567890123") == "893301•••••••••••23"
    assert mask_imsi(None) is None and mask_imsi("123") == "•••"
    assert redact_url("https://a:b@example.org/x?k=v&t=") == "https://[removed]@example.org/x?k=[removed]&t=[removed]"
    assert redact_url("https://example.org/hook") == "https://example.org/hook"

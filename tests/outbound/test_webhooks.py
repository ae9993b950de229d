"""Webhooks against a real local aiohttp receiver: signature, retry, restart, slow endpoints."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import subprocess
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import standardwebhooks
from aiohttp import web
from aiohttp.test_utils import TestServer

from gatewayd import keys
from gatewayd.outbound.webhooks import new_secret, verify
from gatewayd.store import webhooks as webhook_store

from .conftest import Gateway, gateway, until

FAST_HOOKS = {"webhooks": {"retry_base_seconds": 0.05, "retry_cap_seconds": 0.2, "timeout_seconds": 1.0}}
OK = {"text": "hello", "category": "transactional"}


@dataclass
class Receiver:
    """Records every request; answers `fail_first` requests with 500 and sleeps `delay` each."""

    fail_first: int = 0
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.requests.append({"headers": dict(request.headers), "raw": raw, "body": json.loads(raw),
                              "path": request.path})
        if self.delay:
            await asyncio.sleep(self.delay)
        if len(self.requests) <= self.fail_first:
            return web.Response(status=500, text="try later")
        return web.Response(status=204)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        ok = [r for i, r in enumerate(self.requests) if i >= self.fail_first]
        return [r["body"] for r in ok if event_type is None or r["body"]["type"] == event_type]


@asynccontextmanager
async def receiver(**kwargs: Any) -> AsyncIterator[Receiver]:
    rec = Receiver(**kwargs)
    app = web.Application()
    app.router.add_post("/hook", rec.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    rec.url = str(server.make_url("/hook"))
    try:
        yield rec
    finally:
        await server.close()


def readme_javascript_receiver(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Runs README.md's JavaScript `genuine()` under node on one request."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Webhooks"):]
    code = re.search(r"```javascript\n(.*?)```", section, re.S)
    assert code, "README's webhook section has no JavaScript example"
    lowered = {k.lower(): v for k, v in headers.items()}  # as Node's http module gives them
    call = (f"process.exit(genuine({json.dumps(secret)}, {json.dumps(lowered)}, "
            f"Buffer.from({json.dumps(base64.b64encode(body).decode())}, 'base64')) ? 0 : 1);")
    done = subprocess.run(["node", "-e", code.group(1) + call], capture_output=True, timeout=30, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()
    return done.returncode == 0


def readme_receiver_check() -> Any:
    """The `genuine()` function README.md gives API developers (so the documentation cannot rot)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme[readme.index("### Webhooks"):]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README's webhook section has no Python example"
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - our own README
    return namespace["genuine"]


async def add_endpoint(gw: Gateway, url: str, events: list[str] | None = None) -> dict[str, Any]:
    resp = await gw.client.post("/api/v1/webhooks", json={"url": url, "events": events or ["*"]}, headers=gw.auth)
    assert resp.status == 201, await resp.text()
    return await resp.json()  # type: ignore[no-any-return]


async def test_events_follow_standard_webhooks_and_its_reference_verifier_accepts_them(tmp_path: Path) -> None:
    async with receiver() as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        endpoint = await add_endpoint(gw, rec.url, ["message.sent", "message.delivered"])
        secret = endpoint["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        _, body = await gw.post({"to": "+33612345678", **OK})
        message_id = body["messages"][0]["id"]
        await until(lambda: len(rec.events()) >= 2, 10, "two events")
        types = [e["type"] for e in rec.events()]
        assert types == ["message.sent", "message.delivered"]
        genuine = readme_receiver_check()
        reference = standardwebhooks.Webhook(secret)
        for r in rec.requests:
            h = r["headers"]
            # The specification's own verifier, as a receiver would use it.
            assert reference.verify(r["raw"], h) == r["body"]
            with pytest.raises(standardwebhooks.WebhookVerificationError):
                reference.verify(r["raw"] + b" ", h)
            with pytest.raises(standardwebhooks.WebhookVerificationError):
                standardwebhooks.Webhook(new_secret()).verify(r["raw"], h)
            assert re.fullmatch(r"v1,[A-Za-z0-9+/]{43}=", h["webhook-signature"])
            assert h["webhook-id"] == r["body"]["id"] and re.fullmatch(r"evt_[0-9a-f]{32}", h["webhook-id"])
            assert verify(secret, h["webhook-id"], h["webhook-timestamp"], r["raw"], h["webhook-signature"],
                          now=time.time())
            assert not verify(secret, h["webhook-id"], str(int(time.time()) - 3600), r["raw"],
                              h["webhook-signature"], now=time.time())
            assert genuine(secret, h, r["raw"]) and not genuine(secret, h, r["raw"] + b" ")
            assert readme_javascript_receiver(secret, h, r["raw"])
            assert not readme_javascript_receiver(secret, h, r["raw"] + b" ")
            assert "X-Gatewayd-Signature" not in h  # only endpoints with an older secret get those
            assert r["body"]["data"]["id"] == message_id and r["body"]["data"]["to"] == "+33612345678"
        assert len({r["headers"]["webhook-id"] for r in rec.requests}) == 2
        assert rec.events()[1]["data"]["state"] == "delivered"
        # Listing never shows the secret again.
        resp = await gw.client.get("/api/v1/webhooks", headers=gw.auth)
        assert "secret" not in (await resp.json())["webhooks"][0]


async def test_an_endpoint_with_an_older_secret_keeps_working(tmp_path: Path) -> None:
    """Endpoints created before whsec_ secrets keep their secret and their X-Gatewayd-* headers."""
    old = "r4nd0m-Old_Secret-from-token_urlsafe-32bytes"
    async with receiver() as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        endpoint = await add_endpoint(gw, rec.url, ["message.sent"])
        await webhook_store.update_endpoint(gw.app[keys.DB], endpoint["id"], gw.app[keys.CLOCK].now(), secret=old)
        await gw.post({"to": "+33612345678", **OK})
        await until(lambda: len(rec.events()) == 1, 10, "one event")
        [r] = rec.requests
        h = r["headers"]
        # What receivers written for the former scheme check, unchanged:
        ts = h["X-Gatewayd-Timestamp"]
        mac = hmac.new(old.encode(), ts.encode() + b"." + r["raw"], hashlib.sha256).hexdigest()
        assert h["X-Gatewayd-Signature"] == "v1=" + mac and h["X-Gatewayd-Event"] == "message.sent"
        # ...and the standard headers, keyed with the secret's own bytes.
        key = "whsec_" + base64.b64encode(old.encode()).decode()
        assert standardwebhooks.Webhook(key).verify(r["raw"], h) == r["body"]
        # Rotating gives a whsec_ secret, and the older headers stop.
        resp = await gw.client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"rotate_secret": True},
                                     headers=gw.auth)
        rotated = (await resp.json())["secret"]
        assert rotated.startswith("whsec_")
        await gw.post({"to": "+33698765432", **OK})
        await until(lambda: len(rec.events()) == 2, 10, "second event")
        h2 = rec.requests[1]["headers"]
        assert "X-Gatewayd-Signature" not in h2
        assert standardwebhooks.Webhook(rotated).verify(rec.requests[1]["raw"], h2)


async def test_event_ids_are_never_reused_after_the_log_is_purged(tmp_path: Path) -> None:
    async with receiver() as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        endpoint = await add_endpoint(gw, rec.url, ["message.sent"])
        await gw.post({"to": "+33612345678", **OK})
        await until(lambda: len(rec.events()) == 1, 10, "first event")
        for _ in range(100):  # the attempt is recorded after the answer: wait for it
            log = await webhook_store.deliveries(gw.app[keys.DB], endpoint_id=endpoint["id"])
            if [d.state for d in log] == ["delivered"]:
                break
            await asyncio.sleep(0.05)
        async with gw.app[keys.DB].write() as conn:  # what retention does to old events
            await conn.execute("DELETE FROM webhook_events")
        await gw.post({"to": "+33698765432", **OK})
        await until(lambda: len(rec.events()) == 2, 10, "second event")
        first, second = (r["headers"]["webhook-id"] for r in rec.requests)
        assert first != second and rec.events()[0]["id"] != rec.events()[1]["id"]


async def test_failed_deliveries_are_retried_with_a_log(tmp_path: Path) -> None:
    async with receiver(fail_first=2) as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        endpoint = await add_endpoint(gw, rec.url, ["message.failed"])
        gw.modems[0].fail_next(1)
        _, body = await gw.post({"to": "+33612345678", **OK})
        await until(lambda: len(rec.events("message.failed")) == 1, 10, "delivered after retries")
        assert len(rec.requests) == 3
        delivery_ids = {r["headers"]["webhook-id"] for r in rec.requests}
        assert len(delivery_ids) == 1  # the same delivery id on every retry: receivers can deduplicate
        for _ in range(500):  # the answer is recorded just after the receiver sent it
            resp = await gw.client.get(f"/api/v1/webhooks/{endpoint['id']}/deliveries", headers=gw.auth)
            [delivery] = (await resp.json())["deliveries"]
            if delivery["state"] != "pending":
                break
            await asyncio.sleep(0.02)
        assert delivery["state"] == "delivered" and delivery["attempts"] == 3
        assert delivery["webhook_id"] == rec.requests[0]["headers"]["webhook-id"]
        assert [a["status"] for a in delivery["log"]] == [500, 500, 204]
        assert rec.events()[0]["data"]["error_code"] == 1


async def test_a_restart_loses_no_event(tmp_path: Path) -> None:
    async with receiver() as rec:
        dead_url = rec.url.replace("/hook", "/nowhere")  # 404 until we fix the endpoint's URL
        async with gateway(tmp_path, sections=FAST_HOOKS) as gw:
            endpoint = await add_endpoint(gw, dead_url, ["message.sent"])
            _, body = await gw.post({"to": ["+33612345678", "+33698765432"], **OK})
            for m in body["messages"]:
                await gw.wait_state(m["id"], "sent", "delivered")
        assert rec.events() == []
        async with gateway(tmp_path, sections=FAST_HOOKS) as gw:
            resp = await gw.client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"url": rec.url}, headers=gw.auth)
            assert resp.status == 200
            await until(lambda: len(rec.events("message.sent")) == 2, 10, "both events after restart")
        assert sorted(e["data"]["to"] for e in rec.events("message.sent")) == ["+33612345678", "+33698765432"]


async def test_a_slow_endpoint_never_slows_sending(tmp_path: Path) -> None:
    async with receiver(delay=3.0) as slow, receiver() as fast, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        await add_endpoint(gw, slow.url)
        await add_endpoint(gw, fast.url, ["message.sent"])
        started = asyncio.get_running_loop().time()
        _, body = await gw.post({"to": [f"+336120000{i:02d}" for i in range(20)], **OK})
        for m in body["messages"]:
            await gw.wait_state(m["id"], "sent", "delivered", timeout=5)
        assert asyncio.get_running_loop().time() - started < 3.0
        await until(lambda: len(fast.events("message.sent")) == 20, 5, "the fast endpoint got everything")
        assert len(slow.requests) <= 2  # per-endpoint bound: the slow one holds two requests at a time


async def test_endpoint_validation(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        for body, field in (({"url": "ftp://x"}, "url"), ({"url": "http://h/x", "events": ["message.lost"]}, "events"),
                            ({"url": "http://h/x", "events": []}, "events")):
            resp = await gw.client.post("/api/v1/webhooks", json=body, headers=gw.auth)
            assert resp.status == 422 and (await resp.json())["errors"][0]["field"] == field
        resp = await gw.client.delete("/api/v1/webhooks/77", headers=gw.auth)
        assert resp.status == 404


async def test_client_ref_is_echoed_in_every_event_of_its_message(tmp_path: Path) -> None:
    async with receiver() as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        await add_endpoint(gw, rec.url, ["message.sent", "message.delivered", "message.failed"])
        status, body = await gw.post({"to": ["+33612345678", "+33698765432"], "client_ref": "order-42/é", **OK})
        assert status == 202, body
        await until(lambda: len(rec.events()) >= 4, 10, "sent and delivered for both")
        assert sorted(e["type"] for e in rec.events()) == ["message.delivered"] * 2 + ["message.sent"] * 2
        assert {e["data"]["client_ref"] for e in rec.events()} == {"order-42/é"}
        assert (await gw.message(body["messages"][0]["id"]))["client_ref"] == "order-42/é"
        # A failure carries it too; a send without one has none.
        gw.modems[0].fail_next(1)
        _, failed = await gw.post({"to": "+33611111111", "client_ref": "order-43", **OK})
        await until(lambda: bool(rec.events("message.failed")), 10, "the failure")
        assert rec.events("message.failed")[0]["data"]["client_ref"] == "order-43"
        _, plain = await gw.post({"to": "+33622222222", **OK})
        await until(lambda: any(e["data"]["id"] == plain["messages"][0]["id"] for e in rec.events()), 10, "plain")
        assert all("client_ref" not in e["data"] for e in rec.events() if e["data"]["id"] == plain["messages"][0]["id"])
        status, problem = await gw.post({"to": "+33612345678", "client_ref": "x" * 129, **OK})
        assert status == 422 and problem["errors"][0]["field"] == "client_ref"


async def test_local_targets_are_refused_unless_allowed_and_failures_hide_the_socket_detail(tmp_path: Path) -> None:
    """Issue 14: a webhook must not reach this box's own services or the link-local metadata address,
    and a failed delivery says what kind of failure it was, not which host:port answered how."""
    refused = ("http://127.0.0.1:8080/x", "http://localhost/x", "http://127.9.9.9/x", "http://[::1]:22/",
               "http://169.254.169.254/latest/meta-data", "http://[fe80::1]/x", "http://0.0.0.0/x",
               "http://[::]/x", "http://[::ffff:127.0.0.1]/x", "http://LOCALHOST./x")
    hooks = {"webhooks": {**FAST_HOOKS["webhooks"], "allow_local_targets": False}}
    (tmp_path / "strict").mkdir()
    (tmp_path / "allowed").mkdir()
    async with gateway(tmp_path / "strict", sections=hooks) as gw:
        for url in refused:
            resp = await gw.client.post("/api/v1/webhooks", json={"url": url}, headers=gw.auth)
            problem = await resp.json()
            assert resp.status == 422 and problem["errors"][0]["code"] == "webhook.local_target", (url, problem)
            assert problem["errors"][0]["field"] == "url"
        endpoint = await add_endpoint(gw, "http://192.168.1.20/hook")  # the LAN is where receivers live
        resp = await gw.client.patch(f"/api/v1/webhooks/{endpoint['id']}", json={"url": refused[4]}, headers=gw.auth)
        assert resp.status == 422 and (await resp.json())["errors"][0]["code"] == "webhook.local_target"
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with gateway(tmp_path / "allowed", sections=FAST_HOOKS) as gw:  # allow_local_targets (conftest)
        endpoint = await add_endpoint(gw, f"http://127.0.0.1:{closed_port}/hook", ["message.sent"])
        await gw.post({"to": "+33612345678", **OK})
        url = f"/api/v1/webhooks/{endpoint['id']}/deliveries"
        log: list[dict[str, Any]] = []

        async def attempted() -> bool:
            nonlocal log
            deliveries = (await (await gw.client.get(url, headers=gw.auth)).json())["deliveries"]
            log = deliveries[0]["log"] if deliveries else []
            return bool(log)

        deadline = asyncio.get_running_loop().time() + 10
        while not await attempted():
            assert asyncio.get_running_loop().time() < deadline, "no delivery attempt"
            await asyncio.sleep(0.05)
        assert log[0]["error"] == "connection refused", log
        assert str(closed_port) not in str(log)


async def test_a_test_event_and_a_replay_reach_the_endpoint_signed(tmp_path: Path) -> None:
    async with receiver() as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        endpoint = await add_endpoint(gw, rec.url, ["message.failed"])  # a test goes whatever it subscribes to
        other = await add_endpoint(gw, rec.url, ["message.failed"])
        resp = await gw.client.post(f"/api/v1/webhooks/{endpoint['id']}/test", headers=gw.auth)
        assert resp.status == 202
        test_delivery = (await resp.json())["delivery_id"]
        await until(lambda: len(rec.requests) == 1, 10, "the test event")
        first = rec.requests[0]
        event = standardwebhooks.Webhook(endpoint["secret"]).verify(first["raw"], first["headers"])
        assert event["type"] == "webhook.test" and event["data"]["endpoint_id"] == endpoint["id"]

        async def log_of(endpoint_id: int) -> list[dict[str, Any]]:
            answer = await gw.client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=gw.auth)
            return (await answer.json())["deliveries"]  # type: ignore[no-any-return]

        for _ in range(200):
            if (await log_of(endpoint["id"]))[0]["state"] == "delivered":
                break
            await asyncio.sleep(0.02)
        replay = f"/api/v1/webhooks/{endpoint['id']}/deliveries/{test_delivery}/replay"
        resp = await gw.client.post(replay, headers=gw.auth)
        assert resp.status == 202, await resp.text()
        again = (await resp.json())["delivery_id"]
        await until(lambda: len(rec.requests) == 2, 10, "the replay")
        assert rec.requests[1]["headers"]["webhook-id"] == first["headers"]["webhook-id"]  # the same event
        standardwebhooks.Webhook(endpoint["secret"]).verify(rec.requests[1]["raw"], rec.requests[1]["headers"])
        log = await log_of(endpoint["id"])
        assert [d["id"] for d in log] == [again, test_delivery]  # the first delivery stays in the log
        # Another endpoint's delivery, unknown endpoints and deliveries: 404, problem JSON.
        for path in (f"/api/v1/webhooks/{other['id']}/deliveries/{test_delivery}/replay",
                     f"/api/v1/webhooks/999/deliveries/{test_delivery}/replay", "/api/v1/webhooks/999/test",
                     f"/api/v1/webhooks/{endpoint['id']}/deliveries/999/replay"):
            resp = await gw.client.post(path, headers=gw.auth)
            assert (resp.status, resp.content_type) == (404, "application/problem+json"), path
        # A delivery still being tried cannot be replayed (it would go twice).
        async with gw.app[keys.DB].write() as conn:
            await conn.execute("UPDATE webhook_deliveries SET state = 'pending', next_at = '2999-01-01T00:00:00Z' "
                               "WHERE id = ?", (again,))
        resp = await gw.client.post(f"/api/v1/webhooks/{endpoint['id']}/deliveries/{again}/replay", headers=gw.auth)
        assert resp.status == 409


async def test_a_dead_endpoint_is_logged_once_per_incident(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="gatewayd.outbound.webhooks")
    async with receiver(fail_first=6) as rec, gateway(tmp_path, sections=FAST_HOOKS) as gw:
        await add_endpoint(gw, rec.url, ["message.sent"])
        for n in range(3):
            await gw.post({"to": f"+3361234567{n}", **OK})
        await until(lambda: len(rec.events()) == 3, 15, "every event delivered after the endpoint came back")
        await until(lambda: any("answers again" in r.getMessage() for r in caplog.records), 5, "the recovery line")
    lines = [r for r in caplog.records if r.name == "gatewayd.outbound.webhooks" and r.levelno >= 20]
    assert len(rec.requests) >= 9  # six failed attempts, then three deliveries
    down = [r for r in lines if "is not answering" in r.getMessage()]
    assert len(down) == 1 and down[0].levelname == "WARNING" and "HTTP 500" in down[0].getMessage()
    assert "/hook" not in down[0].getMessage()  # the host only: a URL's user part or query may hold a secret
    up = [r for r in lines if "answers again" in r.getMessage()]
    assert len(up) == 1 and "after 6 failed attempts" in up[0].getMessage()
    assert len(lines) == 2, [r.getMessage() for r in lines]

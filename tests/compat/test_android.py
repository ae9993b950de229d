"""SMS Gateway for Android's third-party API driven by its official Python client (the async one,
over aiohttp) through the simulator: sends, per-recipient states, inbox, health and webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest
from android_sms_gateway import AsyncAPIClient, domain
from android_sms_gateway.enums import HealthStatus, ProcessState, WebhookEvent
from android_sms_gateway.errors import APIError

from tests.outbound.conftest import Gateway, gateway

from .conftest import base_url, receiver, until_result

SIGNING_KEY = "s3cret-signing-key"


def client(gw: Gateway, *, bearer: bool = False) -> AsyncAPIClient:
    return AsyncAPIClient(None if bearer else "test", gw.token, base_url=base_url(gw) + "/3rdparty/v1")


async def test_send_read_states_and_replay_with_the_official_client(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2) as gw:
        gw.network.add_subscriber("+33612345678")  # answers with a delivery report
        gw.network.add_subscriber("+33687654321", report_status=None)  # never does
        async with client(gw) as api:
            message = domain.Message(phone_numbers=["+33612345678", "+33687654321"],
                                     text_message=domain.TextMessage(text="Votre code : 1234"), id="order-4711",
                                     sim_number=2, ttl=3600, priority=domain.MessagePriority.BYPASS_THRESHOLD)
            first = await api.send(message)
            assert first.id == "order-4711" and first.state is ProcessState.Pending
            assert [r.phone_number for r in first.recipients] == ["+33612345678", "+33687654321"]
            state = await until_result(lambda: api.get_state("order-4711"),
                                       lambda s: {r.state for r in s.recipients} == {ProcessState.Delivered,
                                                                                      ProcessState.Sent})
            assert state.state is ProcessState.Sent  # one delivered, one sent without a report
            assert state.states is not None and "Sent" in state.states
            # The same id and body: the first answer again, nothing sent twice.
            again = await api.send(message)
            assert again.id == "order-4711"
            assert len(gw.network.received) == 2 and len(await gw.states()) == 2
            # The same id with another body: refused.
            other = domain.Message(phone_numbers=["+33612345678"], text_message=domain.TextMessage(text="other"),
                                   id="order-4711")
            with pytest.raises(APIError) as refused:
                await api.send(other)
            assert refused.value.status_code == 409
        row = (await gw.message(min(await gw.states())))
        assert row["modem"] == "line2" and row["priority"] == -100 and row["expires_at"] is not None


async def test_bearer_legacy_message_and_refusals(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        async with client(gw, bearer=True) as api:
            health = await api.health_check()
            assert health.status is HealthStatus.PASS and health.checks["lines:ready"].observed_value == 1
            for bad, field in ((domain.Message(phone_numbers=["+33612345678"], data_message=domain.DataMessage(
                                   data="SGk=", port=53739)), "dataMessage"),
                               (domain.Message(phone_numbers=["+33612345678"], mms_message=domain.MmsMessage(
                                   text="pic")), "mmsMessage"),
                               (domain.Message(phone_numbers=["+33612345678"], text_message=domain.TextMessage(
                                   text="x"), sim_number=3), "simNumber")):
                with pytest.raises(APIError) as refused:
                    await api.send(bad)
                assert refused.value.status_code == 422, field
        # The legacy `message` field, straight over HTTP (the client no longer sends it).
        resp = await gw.client.post("/3rdparty/v1/messages", headers=gw.auth,
                                    json={"message": "legacy", "phoneNumbers": ["0612345678"], "isEncrypted": False})
        assert resp.status == 202
        body = await resp.json()
        assert body["recipients"] == [{"phoneNumber": "+33612345678", "state": "Pending"}]
        resp = await gw.client.post("/3rdparty/v1/messages", headers=gw.auth,
                                    json={"message": "x", "phoneNumbers": ["0612345678"], "isEncrypted": True})
        problem = await resp.json()
        assert resp.status == 422 and problem["errors"][0]["code"] == "message.unsupported"
        wrong_user = base64.b64encode(f"someone:{gw.token}".encode()).decode()
        resp = await gw.client.get("/3rdparty/v1/messages/x", headers={"Authorization": f"Basic {wrong_user}"})
        assert resp.status == 401
        assert len(await gw.states()) == 1


async def test_webhooks_and_inbox_in_its_shapes(tmp_path: Path) -> None:
    async with receiver() as hooks, gateway(
            tmp_path, sections={"android_gateway": {"webhook_signing_key": SIGNING_KEY}}) as gw:
        gw.network.add_subscriber("+33612345678")
        async with client(gw) as api:
            for event in (WebhookEvent.SMS_RECEIVED, WebhookEvent.SMS_SENT, WebhookEvent.SMS_DELIVERED,
                          WebhookEvent.SMS_FAILED):
                made = await api.create_webhook(domain.Webhook(id=None, url=hooks.url, event=event))
                assert made.id and made.event is event
            assert len(await api.get_webhooks()) == 4
            await api.send(domain.Message(phone_numbers=["+33612345678"], text_message=domain.TextMessage(text="hi"),
                                          id="hook-1"))
            sent = await hooks.wait(lambda b: b["event"] == "sms:sent")
            assert sent["payload"]["messageId"] == "hook-1" and sent["payload"]["phoneNumber"] == "+33612345678"
            delivered = await hooks.wait(lambda b: b["event"] == "sms:delivered")
            assert delivered["payload"]["messageId"] == "hook-1" and delivered["deviceId"] == "gatewayd"
            gw.network.deliver("line1", "+33699999999", "Bonjour <script>")
            received = await hooks.wait(lambda b: b["event"] == "sms:received")
            assert received["payload"]["message"] == "Bonjour <script>"
            assert received["payload"]["phoneNumber"] == "+33699999999" and received["payload"]["simNumber"] == 1
            inbox = await api.list_inbox_messages()
            assert [(m.sender, m.content_preview, m.message_type) for m in inbox] == [
                ("+33699999999", "Bonjour <script>", "SMS")]
            # Every POST is signed as that API signs: hex HMAC-SHA256 of the raw body then X-Timestamp.
            for headers, raw, _ in hooks.posts:
                expected = hmac.new(SIGNING_KEY.encode(), raw + headers["X-Timestamp"].encode(),
                                    hashlib.sha256).hexdigest()
                assert hmac.compare_digest(expected, headers["X-Signature"])
            await api.delete_webhook(made.id)  # type: ignore[arg-type]
            assert len(await api.get_webhooks()) == 3


async def test_switched_off_surface_answers_404(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"android_gateway": {"enabled": False}}) as gw:
        async with client(gw) as api:
            with pytest.raises(APIError) as refused:
                await api.send(domain.Message(phone_numbers=["+33612345678"],
                                              text_message=domain.TextMessage(text="x")))
            assert refused.value.status_code == 404
        assert await gw.states() == {}


async def test_the_javascript_clients_singular_paths_and_legacy_body(tmp_path: Path) -> None:
    """android-sms-gateway for JavaScript (3.x) POSTs {phoneNumbers, message} to /message with Basic
    auth and reads /message/{id}: the request it builds, replayed here (no Node on the box)."""
    async with gateway(tmp_path) as gw:
        basic = base64.b64encode(f"test:{gw.token}".encode()).decode()
        headers = {"Authorization": f"Basic {basic}", "User-Agent": "android-sms-gateway/3.0 (client; js)"}
        resp = await gw.client.post("/3rdparty/v1/message", headers=headers,
                                    json={"id": "js-1", "phoneNumbers": ["+33612345678"], "message": "depuis Node"})
        assert resp.status == 202, await resp.text()
        state = await until_result(lambda: _json(gw.client.get("/3rdparty/v1/message/js-1", headers=headers)),
                                   lambda s: s["state"] in ("Sent", "Delivered"))
        assert state["recipients"][0]["phoneNumber"] == "+33612345678"
        assert gw.network.received_by("+33612345678")[0].text == "depuis Node"


async def _json(request: object) -> dict:  # type: ignore[type-arg]
    resp = await request  # type: ignore[misc]
    return await resp.json()  # type: ignore[no-any-return]

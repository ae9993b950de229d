"""The send API: validation naming the field, idempotency, per-key limits, listing, modems."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock

from .conftest import gateway

OK = {"text": "hello", "category": "transactional"}


async def test_invalid_input_names_the_field(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"sending": {"max_segments": 2}}) as gw:
        cases = [
            ({"to": ["+33612345678", "12"], **OK}, "to[1]", "digits"),
            ({"to": "06 12", **OK}, "to", None),
            ({"to": [], **OK}, "to", "at least one"),
            ({"to": "+33612345678", "text": "  ", "category": "transactional"}, "text", "empty"),
            ({"to": "+33612345678", "text": "x" * 400, "category": "transactional"}, "text", "3 segments"),
            ({"to": "+33612345678", "text": "hi", "category": "spam"}, "category", None),
            ({"to": "+33612345678", "text": "hi"}, "category", "required"),
            ({"to": "+33612345678", **OK, "modem": "line9"}, "modem", "no line named 'line9'"),
            ({"to": "+33612345678", **OK, "send_at": "2026-01-01T10:00:00"}, "send_at", "timezone"),
            ({"to": "+33612345678", **OK, "send_at": "tomorrow"}, "send_at", None),
            ({"to": "+33612345678", **OK, "ttl": 5}, "ttl", None),
            ({"to": "+33612345678", **OK, "colour": "red"}, "colour", "unknown field"),
        ]
        for body, field, fragment in cases:
            status, problem = await gw.post(body)
            assert status == 422, (body, problem)
            assert problem["errors"][0]["field"] == field, (body, problem)
            if fragment:
                assert fragment in problem["errors"][0]["message"], (body, problem)
        resp = await gw.client.post("/api/v1/messages", data=b"{not json", headers=gw.auth)
        assert resp.status == 400
        assert await gw.states() == {}  # nothing was stored by any refused request


async def test_recipients_are_normalised_and_deduplicated(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        status, body = await gw.post({"to": ["06 12 34 56 78", "+33612345678", "0033 6 12 34 56 78", "0698765432"],
                                      **OK})
        assert status == 202
        assert [m["to"] for m in body["messages"]] == ["+33612345678", "+33698765432"]
        assert all(m["state"] == "queued" for m in body["messages"])
        stored = await gw.message(body["messages"][0]["id"])
        assert stored["created_by"] == "api key test" and stored["source"] == "api"


async def test_auth_and_scopes(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        resp = await gw.client.post("/api/v1/messages", json={"to": "+33612345678", **OK})
        assert resp.status == 401
        reader = await create_key(gw.app[keys.DB], SystemClock(), "reader", {"read"})
        resp = await gw.client.post("/api/v1/messages", json={"to": "+33612345678", **OK},
                                    headers={"Authorization": f"Bearer {reader.token}"})
        assert resp.status == 403
        resp = await gw.client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {reader.token}"})
        assert resp.status == 403


async def test_idempotency_key(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        body = {"to": ["+33612345678", "+33698765432"], **OK}
        first = await gw.post(body, **{"Idempotency-Key": "order-42"})
        again = await gw.post(dict(reversed(list(body.items()))), **{"Idempotency-Key": "order-42"})  # same JSON
        assert first[0] == again[0] == 202 and first[1] == again[1]
        other = await gw.post({**body, "text": "changed"}, **{"Idempotency-Key": "order-42"})
        assert other[0] == 409
        # Concurrent twins: exactly one set of messages.
        twins = await asyncio.gather(*(gw.post({"to": "+33611111111", **OK}, **{"Idempotency-Key": "twin"})
                                       for _ in range(8)))
        assert len({str(t[1]) for t in twins}) == 1 and all(t[0] == 202 for t in twins)
        await gw.settle()
        counts: dict[str, int] = {}
        for r in gw.network.received:
            counts[r.recipient] = counts.get(r.recipient, 0) + 1
        assert counts == {"+33612345678": 1, "+33698765432": 1, "+33611111111": 1}
        # Another key may use the same Idempotency-Key for its own request.
        other_key = await create_key(gw.app[keys.DB], SystemClock(), "other", {"send"})
        resp = await gw.client.post("/api/v1/messages", json={"to": "+33622222222", **OK},
                                    headers={"Authorization": f"Bearer {other_key.token}", "Idempotency-Key": "twin"})
        assert resp.status == 202 and (await resp.json())["messages"][0]["to"] == "+33622222222"


async def test_daily_cap_answers_429_until_midnight(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"api": {"requests_per_minute": 0, "recipients_per_day": 5}}) as gw:
        status, _ = await gw.post({"to": [f"+3361234560{i}" for i in range(4)], **OK})
        assert status == 202
        resp = await gw.client.post("/api/v1/messages", json={"to": ["+33612345670", "+33612345671"], **OK},
                                    headers=gw.auth)
        assert resp.status == 429 and 0 < int(resp.headers["Retry-After"]) <= 86400
        assert "daily cap of 5" in (await resp.json())["detail"]
        status, problem = await gw.post({"to": [f"+336123456{i:02d}" for i in range(6)], **OK})
        assert status == 422 and "daily cap" in problem["errors"][0]["message"]
        status, _ = await gw.post({"to": "+33612345679", **OK})
        assert status == 202
        assert len(await gw.states()) == 5
        # The count comes from the ledger, so a fresh limiter (a restart) still knows it.
        gw.app[keys.API_LIMITS]._daily.clear()
        status, _ = await gw.post({"to": "+33612345678", **OK})
        assert status == 429


async def test_request_rate_limit(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"api": {"requests_per_minute": 12, "recipients_per_day": 0}}) as gw:
        seen, headers = [], []
        for i in range(4):
            resp = await gw.client.post("/api/v1/messages", json={"to": f"+3361234567{i}", **OK}, headers=gw.auth)
            seen.append(resp.status)
            headers.append({k: int(resp.headers[k]) for k in ("RateLimit-Limit", "RateLimit-Remaining",
                                                                "RateLimit-Reset")})
            if resp.status == 429:
                assert int(resp.headers["Retry-After"]) >= 1
                assert "12 requests per minute" in (await resp.json())["detail"]
        assert seen == [202, 202, 429, 429]  # 12 per minute = a burst of 2, then one every 5 s
        assert [h["RateLimit-Limit"] for h in headers] == [2, 2, 2, 2]
        assert [h["RateLimit-Remaining"] for h in headers] == [1, 0, 0, 0]
        assert 1 <= headers[0]["RateLimit-Reset"] <= 5 and 5 <= headers[3]["RateLimit-Reset"] <= 10
        resp = await gw.client.get("/api/v1/messages", headers=gw.auth)
        assert "RateLimit-Limit" not in resp.headers  # reading is not rate-limited
        assert len(await gw.states()) == 2


async def test_allowed_destinations(tmp_path: Path) -> None:
    async with gateway(tmp_path, sections={"api": {"allowed_destinations": ["FR", "+32"],
                                                   "requests_per_minute": 0, "recipients_per_day": 0}}) as gw:
        status, _ = await gw.post({"to": ["+33612345678", "+32470123456"], **OK})
        assert status == 202
        status, problem = await gw.post({"to": ["+33612345678", "+447911123456"], **OK})
        assert status == 422 and problem["errors"][0]["field"] == "to[1]"
        assert "allowed countries" in problem["errors"][0]["message"]


async def test_list_filters_and_cursor(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        _, body = await gw.post({"to": [f"+336120000{i:02d}" for i in range(7)], **OK})
        ids = [m["id"] for m in body["messages"]]
        for i in ids:
            await gw.wait_state(i, "delivered")
        seen: list[int] = []
        cursor = None
        while True:
            url = "/api/v1/messages?limit=3&state=delivered" + (f"&cursor={cursor}" if cursor else "")
            status, page = await gw.get(url)
            assert status == 200
            seen += [m["id"] for m in page["messages"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(ids, reverse=True)
        status, page = await gw.get("/api/v1/messages?to=06%2012%2000%2000%2003")
        assert [m["to"] for m in page["messages"]] == ["+33612000003"]
        status, problem = await gw.get("/api/v1/messages?state=lost")
        assert status == 422 and problem["errors"][0]["field"] == "state"
        status, problem = await gw.get("/api/v1/messages?cursor=garbage")
        assert status == 422 and problem["errors"][0]["field"] == "cursor"
        status, _ = await gw.get("/api/v1/messages/424242")
        assert status == 404


async def test_modems_show_state_identity_queue_and_caps(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=2, sections={"outbound": {"per_line_per_day": 1000}}) as gw:
        _, body = await gw.post({"to": "+33612345678", **OK})
        await gw.wait_state(body["messages"][0]["id"], "delivered")
        status, out = await gw.get("/api/v1/modems")
        assert status == 200
        by_name = {m["name"]: m for m in out["modems"]}
        assert set(by_name) == {"line1", "line2"}
        for i, name in enumerate(("line1", "line2"), 1):
            m = by_name[name]
            assert m["state"] == "ready" and m["imei"] == f"86506702000{i:04d}"
            assert m["imsi"] == f"20801123456{i:04d}" and m["signal"] is not None and m["queue_depth"] == 0
        assert sum(m["caps"]["day"]["used"] for m in out["modems"]) == 1
        assert by_name["line1"]["caps"]["day"]["limit"] == 1000 and out["unassigned_queue"] == 0


async def test_the_keys_list_shows_when_each_key_was_last_used(tmp_path: Path) -> None:
    async with gateway(tmp_path) as gw:
        status, body = await gw.get("/api/v1/keys")  # this request is a use of the key
        assert status == 200, body
        [key] = body["keys"]
        assert key["last_used_at"] is not None and "secret" not in str(key).lower()
        assert key["scopes"] and key["revoked_at"] is None and body["next_cursor"] is None


async def test_lines_have_a_label_and_their_own_number(tmp_path: Path) -> None:
    """The SIM's own number is read with AT+CNUM; a SIM that does not store it gets one from an admin."""
    async with gateway(tmp_path, lines=2, msisdns=("+33639980001", "")) as gw:
        status, out = await gw.get("/api/v1/modems")
        by_name = {m["name"]: m for m in out["modems"]}
        assert (by_name["line1"]["label"], by_name["line1"]["number"], by_name["line1"]["number_source"]) == (
            "line1", "+33639980001", "sim")
        assert (by_name["line2"]["label"], by_name["line2"]["number"]) == ("line2", None)

        async def put(name: str, body: dict[str, str]) -> int:
            resp = await gw.client.put(f"/api/v1/modems/{name}/identity", json=body, headers=gw.auth)
            return resp.status

        assert await put("line2", {"label": "SAV", "number": "06 12 34 56 78"}) == 204
        assert await put("line1", {"label": "Accueil", "number": "07 98 76 54 32"}) == 204
        assert await put("line9", {"label": "x"}) == 404
        assert await put("line2", {"label": "SAV", "number": "12"}) == 422
        status, out = await gw.get("/api/v1/modems")
        by_name = {m["name"]: m for m in out["modems"]}
        assert (by_name["line2"]["label"], by_name["line2"]["number"], by_name["line2"]["number_source"]) == (
            "SAV", "+33612345678", "admin")
        # The SIM knows its own number better than a note.
        assert (by_name["line1"]["label"], by_name["line1"]["number"], by_name["line1"]["number_source"]) == (
            "Accueil", "+33639980001", "sim")

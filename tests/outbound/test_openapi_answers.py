"""The OpenAPI document describes what the server really answers: every GET route of the document is
called on a gateway holding one of everything (a sent and delivered message, a received SMS, a call,
an opt-out, an auto-reply, a contact, a group, a template, a campaign, a webhook with a delivery…),
and each answer is validated against the document's schema for its status and content type.

The validator is `jsonschema` (python-jsonschema): the reference implementation of JSON Schema
2020-12, the dialect of OpenAPI 3.1 documents, actively kept and already installed by schemathesis.
openapi-core would add request matching we do not need here (we call the routes ourselves)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from .conftest import Gateway, gateway

# GET routes whose answer needs a state this gateway cannot reach without an upload (tested in
# tests/contacts): never add to this list to hide a mismatch.
NEEDS_AN_UPLOAD = {"/api/v1/imports/{id}", "/api/v1/imports/{id}/rejects.csv"}


def pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check_answer(doc: dict[str, Any], path: str, method: str, status: int, ctype: str, body: bytes) -> None:
    """AssertionError unless `body` is what the document declares for this status and content type."""
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path}: status {status} not in the document"
    content = responses[str(status)].get("content", {})
    media = ctype.split(";")[0].strip()
    assert media in content, f"{method.upper()} {path} -> {status}: {media} not declared ({list(content)})"
    if not media.endswith("json"):
        return
    root = {"$ref": pointer("paths", path, method, "responses", str(status), "content", media, "schema"),
            "paths": doc["paths"], "components": doc["components"]}
    validator = jsonschema.Draft202012Validator(root, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(json.loads(body)), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method.upper()} {path}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:200]}" for e in errors[:8])


async def _call(gw: Gateway, method: str, path: str, **kwargs: Any) -> Any:
    resp = await gw.client.request(method, path, headers=gw.auth, **kwargs)
    body = await resp.read()
    assert resp.status < 300, f"{method} {path} -> {resp.status}: {body[:400]!r}"
    return json.loads(body) if body else None


async def _furnish(gw: Gateway) -> dict[str, Any]:
    """One of everything the read routes list; returns the values that are not ids (tag, line…)."""
    sim = gw.modems[0]
    await _call(gw, "POST", "/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["*"]})
    sent = await _call(gw, "POST", "/api/v1/messages", json={"to": "+33612345678", "text": "Votre code : 4242",
                                                             "category": "transactional", "client_ref": "order-1"})
    await gw.wait_state(sent["messages"][0]["id"], "delivered", timeout=20)
    await sim.deliver_sms("+33698765432", "Bonjour, à quelle heure ouvrez-vous ?")
    await sim.ring("+33698765433", rings=1, interval=0.01)
    await _call(gw, "POST", "/api/v1/opt-outs", json={"number": "+33611111111", "note": "asked by phone"})
    await _call(gw, "POST", "/api/v1/auto-replies", json={"keyword": "HORAIRES", "reply": "9h-18h"})
    await _call(gw, "POST", "/api/v1/contact-fields", json={"name": "ville"})
    group = await _call(gw, "POST", "/api/v1/groups", json={"name": "Clients"})
    contact = await _call(gw, "POST", "/api/v1/contacts", json={
        "mobile": "06 12 34 56 79", "first_name": "Léa", "fields": {"ville": "Lyon"}, "groups": [group["id"]]})
    template = await _call(gw, "POST", "/api/v1/templates", json={"title": "Soldes", "text": "Bonjour {first_name}"})
    await _call(gw, "POST", "/api/v1/campaigns", json={
        "name": "Été", "tag": "ete", "templates": {"default": template["id"]},
        "audience": {"contacts": [contact["id"]]}})

    async def settled() -> bool:
        inbound = await _call(gw, "GET", "/api/v1/inbound")
        calls = await _call(gw, "GET", "/api/v1/calls")
        return bool(inbound["messages"]) and bool(calls["calls"])

    deadline = asyncio.get_running_loop().time() + 20
    while not await settled():
        assert asyncio.get_running_loop().time() < deadline, "inbound SMS or call never stored"
        await asyncio.sleep(0.05)
    return {"tag": "ete", "name": "line1", "section": "quiet_hours"}


async def _first_id(gw: Gateway, list_path: str) -> int:
    """The id of the first item of a list answer (`{things: [{id…}], next_cursor}`)."""
    body = await _call(gw, "GET", list_path)
    items = next(v for v in body.values() if isinstance(v, list))
    assert items, f"{list_path} is empty: the test gateway lacks one"
    return int(items[0]["id"])


@pytest.mark.timeout(120)
async def test_every_get_answer_matches_the_document(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1) as gw:
        values = await _furnish(gw)
        doc = await _call(gw, "GET", "/api/v1/openapi.json")
        checked, wrong = [], []
        for path, methods in doc["paths"].items():
            if "get" not in methods or path in NEEDS_AN_UPLOAD:
                continue
            url = path
            if "{id}" in path:
                parent = path.split("/{id}")[0]
                url = path.replace("{id}", str(await _first_id(gw, parent)))
            for name, value in values.items():
                url = url.replace("{" + name + "}", value)
            assert "{" not in url, f"no value for a parameter of {path}"
            resp = await gw.client.get(url, headers=gw.auth)
            body = await resp.read()
            assert resp.status < 300, f"GET {url} -> {resp.status}: {body[:300]!r}"
            try:
                check_answer(doc, path, "get", resp.status, resp.headers.get("Content-Type", ""), body)
            except AssertionError as exc:
                wrong.append(str(exc).splitlines()[0])
            checked.append(path)
        assert not wrong, "\n".join(wrong)
        assert {"/api/v1/inbound", "/api/v1/inbound/{id}", "/api/v1/threads/{id}/messages", "/api/v1/calls",
                "/api/v1/opt-outs", "/api/v1/auto-replies", "/api/v1/messages/{id}"} <= set(checked)
        assert len(checked) >= 30


def test_the_check_refuses_an_answer_the_document_does_not_describe() -> None:
    """The validator can fail: a missing field, a wrong type, an undeclared status or media type."""
    doc = {"paths": {"/x": {"get": {"responses": {"200": {"description": "OK", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/T"}}}}}}}},
        "components": {"schemas": {"T": {"type": "object", "required": ["id"], "properties": {
            "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"}}}}}}
    check_answer(doc, "/x", "get", 200, "application/json; charset=utf-8", b'{"id": 1, "at": "2026-01-01T00:00:00Z"}')
    for status, ctype, body in ((200, "application/json", b'{"id": "1"}'), (200, "application/json", b"{}"),
                                (200, "application/json", b'{"id": 1, "at": "yesterday"}'),
                                (404, "application/json", b'{"id": 1}'), (200, "text/csv", b"id\n1\n")):
        with pytest.raises(AssertionError):
            check_answer(doc, "/x", "get", status, ctype, body)


async def test_empty_typed_query_parameters_are_refused_naming_them(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1) as gw:
        for path, name in (("/api/v1/inbound?limit=", "limit"), ("/api/v1/inbound?since=", "since"),
                           ("/api/v1/threads?unread=", "unread"), ("/api/v1/messages?limit=%20", "limit"),
                           ("/api/v1/calls?limit=", "limit"), ("/api/v1/opt-outs?limit=&limit=5", "limit"),
                           ("/api/v1/opt-outs?limit=5&limit=", "limit")):
            resp = await gw.client.get(path, headers=gw.auth)
            body = await resp.json()
            assert (resp.status, resp.content_type) == (400, "application/problem+json"), (path, body)
            assert body["errors"][0]["field"] == name, body
        # An empty text parameter still means 'no filter'.
        resp = await gw.client.get("/api/v1/threads?q=", headers=gw.auth)
        assert resp.status == 200


async def test_contacts_bulk_delete_path_allows_only_post(tmp_path: Path) -> None:
    async with gateway(tmp_path, lines=1, wait_ready=False) as gw:
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            resp = await gw.client.request(method, "/api/v1/contacts/delete", headers=gw.auth)
            assert resp.status == 405, method
            assert resp.headers["Allow"] == "POST", method
            assert resp.content_type == "application/problem+json"


async def test_a_rule_renamed_onto_another_keyword_is_a_documented_409(tmp_path: Path) -> None:
    """Found by the conformance run (ST103): PUT /api/v1/auto-replies/{id} answered an undocumented 409."""
    async with gateway(tmp_path, lines=1, wait_ready=False) as gw:
        await _call(gw, "POST", "/api/v1/auto-replies", json={"keyword": "HORAIRES", "reply": "9h-18h"})
        other = await _call(gw, "POST", "/api/v1/auto-replies", json={"keyword": "ADRESSE", "reply": "1 rue X"})
        resp = await gw.client.put(f"/api/v1/auto-replies/{other['id']}", headers=gw.auth,
                                   json={"keyword": "HORAIRES", "reply": "1 rue X"})
        doc = await _call(gw, "GET", "/api/v1/openapi.json")
        check_answer(doc, "/api/v1/auto-replies/{id}", "put", resp.status, resp.headers["Content-Type"],
                     await resp.read())
        assert resp.status == 409

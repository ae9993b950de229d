"""The OpenAPI document covers every route of the app (a route missing from it fails here)."""

from __future__ import annotations

import re

from typing import Any

from aiohttp.test_utils import TestClient

from gatewayd.api.openapi import documented_routes

# Routes of other teams not described yet: remove a prefix once its routes carry @describe, a
# register() call or a PROVIDERS fragment (see gatewayd/api/openapi.py). Never add to this list.
NOT_YET_DESCRIBED = ("/api/v1/campaign", "/api/v1/contact", "/api/v1/groups", "/api/v1/imports",
                     "/api/v1/templates")


async def test_every_route_is_in_the_document(app_client: TestClient) -> None:
    resp = await app_client.get("/api/v1/openapi.json")
    assert resp.status == 200
    doc: dict[str, Any] = await resp.json()
    assert doc["openapi"].startswith("3.1") and doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    routes = documented_routes(app_client.server.app)  # type: ignore[arg-type]
    assert len(routes) > 20
    missing = [f"{m} {p}" for m, p, _ in routes if m.lower() not in doc["paths"].get(p, {})]
    assert missing == []
    undocumented = sorted(f"{m} {p}" for m, p, _ in routes
                          if doc["paths"][p][m.lower()].get("x-undocumented") and not p.startswith(NOT_YET_DESCRIBED))
    assert undocumented == [], f"describe these routes in the OpenAPI document: {undocumented}"


async def test_every_operation_has_a_unique_operation_id(app_client: TestClient) -> None:
    doc: dict[str, Any] = await (await app_client.get("/api/v1/openapi.json")).json()
    ids = [op.get("operationId") for methods in doc["paths"].values() for op in methods.values()]
    assert len(ids) > 20 and None not in ids
    assert len(set(ids)) == len(ids), sorted(i for i in ids if ids.count(i) > 1)
    assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", i) for i in ids)
    assert doc["paths"]["/api/v1/messages"]["post"]["operationId"] == "messages_send"


async def test_send_operation_is_described_with_its_schema(app_client: TestClient) -> None:
    doc = await (await app_client.get("/api/v1/openapi.json")).json()
    send = doc["paths"]["/api/v1/messages"]["post"]
    assert send["x-scope"] == "send"
    assert set(send["responses"]) >= {"202", "400", "401", "403", "409", "413", "422", "429"}
    declared = {code: set(answer.get("headers", {})) for code, answer in send["responses"].items()}
    assert declared["202"] == {"Idempotent-Replayed", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    assert declared["429"] == {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    assert set(doc["components"]["headers"]) >= {"Retry-After", "Idempotent-Replayed", "RateLimit-Reset"}
    accepted = doc["components"]["schemas"]["Accepted"]["properties"]["messages"]["items"]
    assert doc["components"]["schemas"][accepted["$ref"].rsplit("/", 1)[1]]["required"] == ["id", "to", "state"]
    schema = doc["components"]["schemas"][send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                                         .rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"to", "category"}  # text, or a template
    assert [p["name"] for p in send["parameters"]] == ["Idempotency-Key"]
    one = doc["paths"]["/api/v1/messages/{id}"]["get"]
    assert one["parameters"][0] == {"name": "id", "in": "path", "required": True,
                                    "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}}
    assert doc["paths"]["/api/v1/modems/{name}/ussd"]["post"]["parameters"][0]["schema"] == {"type": "string"}
    assert doc["paths"]["/healthz"]["get"]["security"] == []


async def test_every_operation_documents_the_errors_its_inputs_can_give(app_client: TestClient) -> None:
    doc: dict[str, Any] = await (await app_client.get("/api/v1/openapi.json")).json()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            where = f"{method.upper()} {path}"
            if "{" in path:
                assert "404" in codes, where
            if "requestBody" in op:
                assert {"400", "413", "422"} <= codes, where
            if any(p["in"] == "query" for p in op.get("parameters", [])):
                assert "422" in codes, where
            if op.get("security") != []:
                assert {"401", "403"} <= codes, where
            for code, answer in op["responses"].items():
                if code >= "400":
                    assert list(answer["content"]) == ["application/problem+json"], (where, code)
            for code, answer in op["responses"].items():
                if code.startswith("2") and code != "204":
                    assert answer.get("content"), f"{where} -> {code}: no schema for the success answer"

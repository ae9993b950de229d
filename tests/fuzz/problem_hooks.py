"""Schemathesis hooks for test_api_schemathesis.py (the CLI imports it as SCHEMATHESIS_HOOKS=problem_hooks).

Registers the `problem_json` check: every 4xx/5xx answer of the daemon is RFC 9457 problem JSON
(`application/problem+json`, non-empty string type/title/detail, `status` equal to the HTTP one,
and each optional `errors` entry naming a field and a message).
"""

from __future__ import annotations

import json
from typing import Any

import schemathesis

PROBLEM_TYPE = "application/problem+json"


@schemathesis.check
def problem_json(ctx: Any, response: Any, case: Any) -> bool | None:
    """Errors are problem JSON; successes are not judged here."""
    if response.status_code < 400:
        return None
    where = f"{case.method} {case.formatted_path} -> {response.status_code}"
    values = response.headers.get("content-type") or [""]  # Schemathesis: lowercase keys, list values
    ctype = values[0].split(";")[0].strip().lower()
    if ctype != PROBLEM_TYPE:
        raise AssertionError(f"{where}: Content-Type {ctype!r}, expected {PROBLEM_TYPE}")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{where}: body is not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise AssertionError(f"{where}: problem body is not an object")
    for key in ("type", "title", "detail"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise AssertionError(f"{where}: problem {key!r} missing or empty")
    if body.get("status") != response.status_code:
        raise AssertionError(f"{where}: problem status {body.get('status')!r} differs from HTTP status")
    for error in body.get("errors", []):
        if not isinstance(error, dict) or not isinstance(error.get("field"), str) \
                or not isinstance(error.get("message"), str):
            raise AssertionError(f"{where}: malformed errors entry {error!r}")
    return True

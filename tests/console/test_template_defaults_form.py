"""The template form's default value per variable (issue 13), through the console's real server."""

from __future__ import annotations

import re

from tests.console.conftest import Console


async def test_console_template_form_keeps_a_default_per_variable(admin: Console) -> None:
    status, body = await admin.get("/templates/new")
    assert status == 200 and 'name="default.' not in body  # no variable yet: nothing to default
    status, body, _ = await admin.post("/templates/new", {"title": "RDV", "text": "Bonjour {prenom}"})
    status, body = await admin.get("/templates")
    template_path = re.search(r'href="/templates/(\d+)"', body)[1]  # type: ignore[index]
    status, body = await admin.get(f"/templates/{template_path}")
    assert 'name="default.prenom"' in body
    status, body, _ = await admin.post(f"/templates/{template_path}", {
        "title": "RDV", "text": "Bonjour {prenom}", "default.prenom": "cher client", "default.ville": "Paris"})
    assert status == 422 and "{ville}" in body and "pas cette variable" in body  # in French
    status, body, _ = await admin.post(f"/templates/{template_path}", {
        "title": "RDV", "text": "Bonjour {prenom}", "default.prenom": "cher client"})
    assert status in (200, 302, 303)
    status, body = await admin.get(f"/templates/{template_path}")
    assert 'value="cher client"' in body

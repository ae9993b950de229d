"""Console maintenance page over HTTP with signed-in sessions: diagnostics and backup downloads, admin only."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

from tests.console.conftest import Console, ConsoleFactory, add_user
from console.state import CONSOLE_STATE
from console.views.admin import _BACKUP_LOCK

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.store.migrations import available


async def test_maintenance_page_in_both_languages(admin: Console) -> None:
    status, body = await admin.get("/settings")
    assert status == 200 and 'href="/settings/maintenance"' in body
    status, body = await admin.get("/settings/maintenance")
    assert status == 200
    assert 'href="/settings/maintenance/backup.db"' in body
    assert 'href="/settings/maintenance/diagnostics.json"' in body
    status, _, _ = await admin.post("/language", {"lang": "en", "next": "/settings/maintenance"})
    assert status == 303
    _, english = await admin.get("/settings/maintenance")
    status, _, _ = await admin.post("/language", {"lang": "fr", "next": "/settings/maintenance"})
    _, french = await admin.get("/settings/maintenance")
    assert "Download a backup" in english and "Diagnostics bundle" in english
    assert "Télécharger une sauvegarde" in french and "Dossier de diagnostic" in french


async def test_diagnostics_download_is_an_attachment_without_secrets(admin: Console) -> None:
    key = await create_key(admin.app[keys.DB], admin.app[keys.CLOCK], "crm", {"send"})
    resp = await admin.client.get("/settings/maintenance/diagnostics.json")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="gatewayd-diagnostics-')
    assert resp.headers["Cache-Control"] == "no-store"
    raw = await resp.text()
    bundle = json.loads(raw)
    assert bundle["format"] == 1 and bundle["versions"]["gatewayd"]
    assert bundle["database"]["schema_version"] == available()[-1].version
    assert "lines" in bundle and "recent_errors" in bundle
    assert key.token not in raw and admin.csrf not in raw


async def test_backup_download_is_a_consistent_copy_while_writes_go_on(admin: Console, tmp_path: Path) -> None:
    db, clock = admin.app[keys.DB], admin.app[keys.CLOCK]

    async def writer() -> int:
        made = 0
        for i in range(40):
            await create_key(db, clock, f"key{i}", {"read"})
            made += 1
            await asyncio.sleep(0)
        return made

    writing = asyncio.create_task(writer())
    resp = await admin.client.get("/settings/maintenance/backup.db")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/vnd.sqlite3"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="gatewayd-')
    data = await resp.read()
    assert len(data) == int(resp.headers["Content-Length"]) > 0
    assert await writing == 40

    copy = tmp_path / "downloaded.db"
    copy.write_bytes(data)
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == available()[-1].version
        assert conn.execute("SELECT name, role FROM users").fetchall() == [("admin", "admin")]
        keys_in_copy = conn.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0]
    assert 0 <= keys_in_copy <= 40  # a snapshot: whatever was committed when the copy was taken
    # The temporary copy is gone: only the database and its WAL files are left beside it.
    leftovers = [p.name for p in db.path.parent.iterdir() if p.name.startswith(".backup-") or p.suffix == ".partial"]
    assert leftovers == []


async def test_one_backup_at_a_time(admin: Console) -> None:
    lock = admin.app[CONSOLE_STATE].setdefault(_BACKUP_LOCK, asyncio.Lock())
    async with lock:
        resp = await admin.client.get("/settings/maintenance/backup.db")
        assert resp.status == 429 and resp.headers["Retry-After"] == "5"
    resp = await admin.client.get("/settings/maintenance/backup.db")
    assert resp.status == 200 and len(await resp.read()) > 0


async def test_only_admins_get_the_downloads(console_factory: ConsoleFactory) -> None:
    first = await console_factory()
    await add_user(first, "admin", "admin")
    await add_user(first, "olga", "operator")
    await add_user(first, "vic", "viewer")
    paths = ("/settings/maintenance", "/settings/maintenance/backup.db", "/settings/maintenance/diagnostics.json")
    for name in ("olga", "vic"):
        browser = await console_factory()
        await browser.login(name)
        for path in paths:
            resp = await browser.client.get(path, allow_redirects=False)
            body = await resp.read()
            assert resp.status == 403, (name, path)
            assert b"SQLite format 3" not in body and b'"versions"' not in body
    signed_out = await console_factory()
    for path in paths:
        resp = await signed_out.client.get(path, allow_redirects=False)
        assert resp.status == 303 and resp.headers["Location"].startswith("/login")

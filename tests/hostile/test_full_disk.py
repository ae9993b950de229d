"""Attacks 3 and 6 of issue 14 on a disk that really fills up (a small tmpfs of the daemon's own):
an upload that meets the full disk gets 507, not 500, and signing in to the console still works,
so that someone can get in and free space."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.faults.process import LimitedDaemon, unshare_works

PASSWORD = "Correct-Horse-9"


def fill(d: LimitedDaemon) -> None:
    with open(d.seen_path(d.disk / "filler"), "wb") as fh:  # noqa: PTH123 - a plain loop until ENOSPC
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == 28, exc


@pytest.mark.timeout(120)
async def test_a_full_disk_answers_uploads_with_507_and_still_lets_people_sign_in(tmp_path: Path) -> None:
    if not unshare_works():
        pytest.skip("no unprivileged mount namespace here (unshare -Urm) for a disk of the daemon's own")
    d = LimitedDaemon(tmp_path, tmpfs_bytes=32 * 1024 * 1024)
    subprocess.run([sys.executable, "-m", "gatewayd", "user", "add", "admin", "--role", "admin", "--password-stdin",
                    "--config", str(d.config)], input=PASSWORD + "\n", text=True, check=True, capture_output=True,
                   timeout=60)
    auth = {"Authorization": f"Bearer {d.api_key('send', 'read')}"}
    d.start()
    try:
        await d.wait_ready(0)
        fill(d)
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            csv = "mobile\n" + "".join(f"06{n:08d}\n" for n in range(12000000, 12020000))
            async with session.post(f"{d.url}/api/v1/imports?filename=list.csv", data=csv.encode(),
                                    headers=auth) as resp:
                problem = await resp.json(content_type=None)
                assert resp.status == 507, (resp.status, problem, d.log_tail())
            assert problem["type"].endswith("/storage-full") and "imports" in problem["detail"], problem

            async with session.get(f"{d.url}/login") as resp:
                csrf = re.search(r'name="_csrf" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
            form = {"_csrf": csrf, "name": "admin", "password": PASSWORD, "next": "/imports"}
            async with session.post(f"{d.url}/login", data=form, allow_redirects=False) as resp:
                assert resp.status == 303, (resp.status, (await resp.text())[-1500:], d.log_tail())
            async with session.get(f"{d.url}/imports") as resp:
                assert resp.status == 200, d.log_tail()
            async with session.get(f"{d.url}/healthz") as resp:
                assert resp.status == 200
        assert any("reserve" in line for line in d.output), d.log_tail()
    finally:
        d.stop()

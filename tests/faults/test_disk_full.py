"""The database file on a full disk: the daemon refuses new work with a clear error (problem JSON
naming the database, 507), keeps answering reads, and recovers when space returns without losing
or corrupting anything.

A real process, a real SQLite file and a real simulated line. "Disk full" is the daemon's file-size
limit (RLIMIT_FSIZE) lowered from outside with prlimit: every write past it fails in the kernel
(EFBIG; SQLite says "disk I/O error"), as writes fail on a full disk; raising it again is space
coming back. Where the machine allows an unprivileged mount namespace, the same test also runs with
the database on a tiny tmpfs of its own that a filler file really fills (ENOSPC; SQLite says
"database or disk is full"); deleting the filler gives the space back."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gatewayd.modem.sim import SimModem, SimNetwork

from tests.alerts.kit import Mailbox, until

from .process import LimitedDaemon, unshare_works

FINAL = {"sent", "delivered", "failed", "expired", "blocked", "canceled", "unknown"}
DISKS = ["file-size limit", "tmpfs"]   # how the disk fills up and empties again (fill/free below)


def fill(d: LimitedDaemon, how: str) -> None:
    if how == "file-size limit":
        d.limit_files(0)  # no file of the daemon may grow any more
        return
    # Unbuffered: each write is one system call and nothing stays in a buffer for close() to write
    # again (the buffered version once raised ENOSPC on leaving `with`, in a loaded CI run).
    with open(d.seen_path(d.disk / "filler"), "wb", buffering=0) as fh:  # noqa: PTH123 - a plain loop until ENOSPC
        try:
            while True:
                fh.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC: the tmpfs is full


def free(d: LimitedDaemon, how: str) -> None:
    if how == "file-size limit":
        d.limit_files(None)
    else:
        d.seen_path(d.disk / "filler").unlink()


def integrity(d: LimitedDaemon) -> tuple[list[list[str]], int]:
    """PRAGMA integrity_check and the message count, read where the daemon sees its file (a tmpfs
    lives in the daemon's namespace: the check runs in there, as SQLite resolves /proc/<pid>/root)."""
    code = ("import json, sqlite3, sys; c = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True); "
            "print(json.dumps([c.execute('PRAGMA integrity_check').fetchall(), "
            "c.execute('SELECT count(*) FROM messages').fetchone()[0]]))")
    argv = [sys.executable, "-c", code, str(d.database)]
    if d.tmpfs_bytes is not None:
        assert d.proc is not None
        argv = ["nsenter", "-t", str(d.proc.pid), "-U", "-m", "--preserve-credentials", *argv]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True).stdout
    checks, count = json.loads(out)
    return checks, count


async def _post(session: aiohttp.ClientSession, d: LimitedDaemon, auth: dict[str, str], to: list[str],
                text: str) -> tuple[int, Any]:
    body = {"to": to, "text": text, "category": "transactional"}
    async with asyncio.timeout(15):  # an answer, not a hang
        async with session.post(f"{d.url}/api/v1/messages", json=body, headers=auth) as resp:
            return resp.status, await resp.json(content_type=None)


async def _messages(session: aiohttp.ClientSession, d: LimitedDaemon, auth: dict[str, str]) -> list[dict[str, Any]]:
    async with asyncio.timeout(15):
        async with session.get(f"{d.url}/api/v1/messages?limit=500", headers=auth) as resp:
            assert resp.status == 200, await resp.text()
            return (await resp.json())["messages"]  # type: ignore[no-any-return]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", DISKS)
async def test_full_disk_refuses_new_work_clearly_and_recovers_when_space_returns(tmp_path: Path, how: str) -> None:
    if how == "tmpfs" and not unshare_works():
        pytest.skip("no unprivileged mount namespace here (unshare -Urm): the file-size limit variant still runs")
    net = SimNetwork()
    modem = SimModem(net, name="line1", profile="sim800", link=tmp_path / "line1", latency=(0.02, 0.05), seed=3,
                     imei="865067021000011", imsi="208017654320011", iccid="8933017654321090011",
                     msisdn="+33639970011")
    box = Mailbox()  # a real SMTP server: the administrator hears of it (straight from memory)
    box.start()
    d = LimitedDaemon(tmp_path, modems=[{"name": "line1", "port": str(modem.link)}],
                      sections={"outbound": {"retry_base_seconds": 0.2, "retry_cap_seconds": 0.5},
                                "modem": {"health_interval": 1.0},
                                "email": {"host": "127.0.0.1", "port": box.port, "retry_base_seconds": 0.2,
                                          "retry_cap_seconds": 0.5},
                                "alerts": {"email": ["it@example.test"], "check_seconds": 0.3},
                                "site": {"language": "en"}},
                      tmpfs_bytes=32 * 1024 * 1024 if how == "tmpfs" else None)
    await modem.start()
    try:
        token = d.api_key("send", "read")
        auth = {"Authorization": f"Bearer {token}"}
        d.start()
        await d.wait_ready(1)
        async with aiohttp.ClientSession() as session:
            before = [f"+3361000{i:04d}" for i in range(20)]
            status, body = await _post(session, d, auth, before, "avant la panne")
            assert status == 202, body
            await net.wait_for(lambda: len(net.received) >= 5, timeout=30)

            fill(d, how)
            during = [f"+3362000{i:04d}" for i in range(3)]
            status, problem = await _post(session, d, auth, during, "pendant la panne")
            assert status == 507, (status, problem, d.log_tail())
            assert problem["status"] == 507 and problem["type"].endswith("/storage-full"), problem
            assert str(d.database) in problem["detail"], problem
            if how == "tmpfs":
                assert "database or disk is full" in problem["detail"], problem
            rows = await _messages(session, d, auth)  # reads still answer
            async with session.get(f"{d.url}/healthz") as response:  # monitoring sees it
                health = await response.json()
            assert health["status"] == "degraded" and health["database"]["writable"] is False, health
            assert len(rows) == 20 and not any(r["to"] in during for r in rows)
            async with session.get(f"{d.url}/readyz") as response:  # readiness says why
                ready = await response.json()
            assert response.status == 503 and "the database cannot be written" in ready["reasons"][0], ready
            await until(lambda: bool(box.subjects("The database no longer accepts writes")), 20,
                        "the database alert e-mail")
            await asyncio.sleep(1.0)  # the dispatcher meets the full disk too (sends stop, nothing is lost)
            got_while_full = len(net.received)

            free(d, how)  # space returns
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while True:
                status, body = await _post(session, d, auth, during, "après la panne")
                if status == 202:
                    break
                assert status == 507 and loop.time() < deadline, (status, body, d.log_tail())
                await asyncio.sleep(0.2)
            deadline = loop.time() + 60
            while True:
                rows = await _messages(session, d, auth)
                if all(r["state"] in FINAL for r in rows):
                    break
                assert loop.time() < deadline, Counter(r["state"] for r in rows)
                await asyncio.sleep(0.2)
            async with session.get(f"{d.url}/readyz") as response:
                assert response.status == 200, await response.text()
            await until(lambda: bool(box.subjects("The database accepts writes again")), 20, "its recovery e-mail")
            assert len(box.subjects("no longer accepts writes")) == 1, box.subjects()
            checked = integrity(d)  # while it runs: a tmpfs vanishes with its namespace
        assert d.stop() == 0, d.log_tail()
        assert any("storage" in line.lower() or "disk" in line.lower() for line in d.output), d.log_tail()
    finally:
        d.stop()
        await modem.stop()
        net.close()
        box.stop()
    assert len(rows) == 23
    got = Counter(r.recipient for r in net.received)
    assert [n for n, c in got.items() if c > 1] == [] and net.duplicate_parts == []
    assert {r["to"]: r["text"] for r in rows} == {**{n: "avant la panne" for n in before},
                                                 **{n: "après la panne" for n in during}}
    not_received = {r["to"] for r in rows if got[r["to"]] == 0}
    assert not_received <= {r["to"] for r in rows if r["state"] == "unknown"}, Counter(r["state"] for r in rows)
    assert sum(r["state"] == "unknown" for r in rows) <= 1
    assert got_while_full <= 20
    assert checked == ([["ok"]], 23)

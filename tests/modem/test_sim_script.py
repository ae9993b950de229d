"""`python -m gatewayd.modem.sim` for manual work: prints the paths, obeys verbs, quits cleanly."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path


async def test_script_prints_paths_and_obeys_verbs(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gatewayd.modem.sim", "--lines", "2", "--fast", "--dir", str(tmp_path),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        rows = [(await asyncio.wait_for(proc.stdout.readline(), 20)).decode().split("\t") for _ in range(2)]
        assert [r[0] for r in rows] == ["line1", "line2"]
        assert [r[1] for r in rows] == ["sim800", "ec25"]
        for row in rows:
            assert os.path.realpath(row[2]) == row[3].strip()
        proc.stdin.write(b"sms line1 +33611111111 Bonjour\nnope line1\n")
        await proc.stdin.drain()
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == b"ok"
        assert b"unknown verb" in await asyncio.wait_for(proc.stdout.readline(), 10)
        proc.stdin.write(b"quit\n")
        await proc.stdin.drain()
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert not any(os.path.lexists(r[2]) for r in rows)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()

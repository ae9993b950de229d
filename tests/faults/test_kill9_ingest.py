"""kill -9 while 16 API clients post single messages (the merged group-commit path): after each
restart, every message answered 202 is stored exactly once under the id its answer gave, nothing is
stored that nobody posted, and a request cut off by the kill is stored at most once (its client did
not learn the outcome; that is what Idempotency-Key is for). No modem: nothing leaves, so the ledger
alone is compared with what the clients were told."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import aiohttp
import pytest

from tests.outbound.daemon import Daemon, all_messages

CLIENTS = 16
KILLS = 3


async def _post_until_killed(daemon: Daemon, token: str, round_no: int, answered: dict[str, int],
                             cut_off: set[str], kill_after: int) -> None:
    """Clients post until `kill_after` more answers came in, then the daemon is killed under them."""
    auth = {"Authorization": f"Bearer {token}"}
    enough = asyncio.Event()
    start = len(answered)

    async def client(n: int, session: aiohttp.ClientSession) -> None:
        i = 0
        while True:
            number = f"+3367{round_no}{n:02d}{i:04d}"
            i += 1
            body = {"to": number, "text": "kill -9 pendant l'envoi", "category": "transactional"}
            try:
                async with session.post(f"{daemon.url}/api/v1/messages", json=body, headers=auth) as resp:
                    payload = await resp.json()
                    assert resp.status == 202, payload
            except (aiohttp.ClientError, asyncio.TimeoutError):
                cut_off.add(number)  # the kill came first: the outcome is unknown to this client
                return
            [message] = payload["messages"]
            assert message["to"] == number and message["state"] == "queued", message
            answered[number] = message["id"]
            if len(answered) - start >= kill_after:
                enough.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        clients = [asyncio.create_task(client(n, session)) for n in range(CLIENTS)]
        await asyncio.wait_for(enough.wait(), 60)
        daemon.kill9()
        await asyncio.gather(*clients)


@pytest.mark.timeout(120)
async def test_kill_9_during_concurrent_posts_loses_no_answered_message(tmp_path: Path) -> None:
    rng = random.Random(41)
    daemon = Daemon(tmp_path, modems=[])
    token = daemon.api_key("send", "read")
    answered: dict[str, int] = {}
    cut_off: set[str] = set()
    try:
        for round_no in range(KILLS):
            daemon.start()
            await daemon.wait_ready(0)
            await _post_until_killed(daemon, token, round_no, answered, cut_off, rng.randint(150, 400))
        daemon.start()
        await daemon.wait_ready(0)
        async with aiohttp.ClientSession() as session:
            rows = await all_messages(session, daemon.url, token)
    finally:
        daemon.stop()

    assert len(cut_off) >= 1, "no request was cut off: the kills did not land during the posts"
    stored: dict[str, list[int]] = {}
    for row in rows:
        stored.setdefault(row["to"], []).append(row["id"])
    assert not [n for n, ids in stored.items() if len(ids) > 1], "a number stored twice"
    assert {n: ids[0] for n, ids in stored.items() if n in answered} == answered  # none lost, ids as told
    assert set(stored) - set(answered) <= cut_off  # nothing stored that nobody posted
    assert all(r["state"] == "queued" for r in rows)

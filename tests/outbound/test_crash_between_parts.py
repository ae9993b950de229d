"""kill -9 between the parts of a long SMS: the parts that went out are on record, the message is
`unknown` saying which, and a person can send only the missing parts (same concatenation
reference, same line) so the recipient's phone gets the whole text once."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gatewayd.modem.sim import SimModem, SimNetwork

from .daemon import Daemon

TEXT = "Votre dossier est complet. " * 15     # 405 GSM-7 characters: 3 parts
TO = "+33612398765"


async def poll(predicate: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@pytest.mark.timeout(90)
async def test_a_kill_between_parts_leaves_their_record_and_the_rest_can_be_completed(tmp_path: Path) -> None:
    net = SimNetwork()
    modem = SimModem(net, name="line1", profile="sim800", link=tmp_path / "line1", latency=0.3)
    daemon = Daemon(tmp_path, modems=[{"name": "line1", "port": str(modem.link)}])
    await modem.start()
    try:
        token = daemon.api_key("send", "read")
        auth = {"Authorization": f"Bearer {token}"}
        daemon.start()
        await daemon.wait_ready(1)
        async with aiohttp.ClientSession(headers=auth) as http:
            async def message(mid: int) -> dict[str, Any]:
                async with http.get(f"{daemon.url}/api/v1/messages/{mid}") as resp:
                    return await resp.json()  # type: ignore[no-any-return]

            async with http.post(f"{daemon.url}/api/v1/messages",
                                 json={"to": TO, "text": TEXT, "category": "transactional"}) as resp:
                assert resp.status == 202
                mid = (await resp.json())["messages"][0]["id"]
            # Part 1 reaches the network; part 2 never gets an answer (nor goes out).
            await net.wait_for(lambda: len(net.parts) >= 1, timeout=10)
            modem.swallow_next_result(sent=False)
            assert len(net.parts) == 1

            async def part_one_on_record() -> bool:
                return [p["seq"] for p in (await message(mid))["parts"]] == [1]

            await poll(part_one_on_record, 5, "part 1 committed while part 2 is on its way")
            daemon.kill9()
            daemon.start()
            await daemon.wait_ready(1)
            m = await message(mid)
            assert m["state"] == "unknown"
            # (part 1's delivery report may have come in before the kill)
            assert [(p["seq"], p["state"] in ("sent", "delivered")) for p in m["parts"]] == [(1, True)], m
            assert "part(s) 1 of 3 went out" in m["error"]

            async with http.post(f"{daemon.url}/api/v1/messages/{mid}/complete") as resp:
                assert resp.status == 202, await resp.text()
            async with http.post(f"{daemon.url}/api/v1/messages/{mid}/complete") as resp:
                assert resp.status == 409  # it is no longer unknown

            async def settled() -> bool:
                return (await message(mid))["state"] in ("sent", "delivered")

            await poll(settled, 20, "the missing parts sent")
        await net.wait_for(lambda: len(net.received) == 1, timeout=10)
        [whole] = net.received
        assert (whole.recipient, whole.text, whole.parts) == (TO, TEXT, 3)
        assert net.duplicate_parts == [] and len(net.parts) == 3  # part 1 was not sent again
    finally:
        daemon.stop()
        await modem.stop()
        net.close()

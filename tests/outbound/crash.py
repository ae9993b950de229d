"""The kill -9 scenario (shared by the CI test and the full slow run): post messages to a daemon
subprocess sending through simulated lines, kill it mid-way several times, restart, drain, then
compare the ledger with what the simulated network received."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from gatewayd.modem.sim import SimModem, SimNetwork

from .daemon import Daemon, all_messages

FINAL = {"sent", "delivered", "failed", "expired", "blocked", "canceled", "unknown"}


async def crash_scenario(workdir: Path, *, messages: int, kills: int, lines: int = 1,
                         latency: tuple[float, float] = (0.05, 0.2), seed: int = 1,
                         drain_timeout: float = 300.0) -> dict[str, Any]:
    """Run the scenario; returns the figures (the caller asserts on them)."""
    rng = random.Random(seed)
    net = SimNetwork()
    modems = [SimModem(net, name=f"line{i}", profile="sim800", link=workdir / f"line{i}", latency=latency, seed=i,
                       imei=f"86506702100{i:04d}", imsi=f"20801765432{i:04d}", iccid=f"893301765432109{i:04d}",
                       msisdn=f"+3363997{i:04d}") for i in range(1, lines + 1)]
    daemon = Daemon(workdir, modems=[{"name": m.name, "port": str(m.link)} for m in modems],
                    sections={"outbound": {"retry_base_seconds": 0.5, "retry_cap_seconds": 2.0,
                                           # reports lost while the daemon was down: said after 3 s
                                           "report_timeout_hours": 3 / 3600}})
    started = time.monotonic()
    try:
        for m in modems:
            await m.start()
        token = daemon.api_key("send", "read")
        daemon.start()
        await daemon.wait_ready(lines)
        auth = {"Authorization": f"Bearer {token}"}
        numbers = [f"+3361{i:07d}" for i in range(messages)]
        async with aiohttp.ClientSession() as session:
            for start in range(0, messages, 500):
                body = {"to": numbers[start:start + 500], "text": "crash test", "category": "transactional"}
                async with session.post(f"{daemon.url}/api/v1/messages", json=body, headers=auth) as resp:
                    assert resp.status == 202, await resp.text()
            points = sorted(rng.sample(range(messages // 10, messages * 9 // 10), kills))
            for point in points:
                await net.wait_for(lambda p=point: len(net.received) >= p, timeout=drain_timeout)
                # Land the kill at a random moment inside a send, not always right after one.
                await asyncio.sleep(rng.uniform(0, latency[1]))
                daemon.kill9()
                daemon.start()
                await daemon.wait_ready(lines)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + drain_timeout
            while True:
                rows = await all_messages(session, daemon.url, token)
                if all(r["state"] in FINAL for r in rows):
                    break
                if loop.time() > deadline:
                    raise AssertionError(f"not drained: {Counter(r['state'] for r in rows)}")
                await asyncio.sleep(0.2)
            # Then every `sent` message either gets its report or, past the deadline, its reason.
            while any(r["state"] == "sent" and not r.get("error") for r in rows) and loop.time() < deadline:
                await asyncio.sleep(0.5)
                rows = await all_messages(session, daemon.url, token)
        daemon.stop()
        await asyncio.sleep(0.3)  # late reports/answers of the simulator settle
        got = Counter(r.recipient for r in net.received)
        states = Counter(r["state"] for r in rows)
        by_to = {r["to"]: r for r in rows}
        return {
            "messages": messages, "kills": kills, "lines": lines, "seconds": round(time.monotonic() - started, 1),
            "stored": len(rows), "states": dict(states),
            "received_twice": sorted(n for n, c in got.items() if c > 1),
            "received_unknown_to_us": sorted(n for n in got if n not in by_to),
            # Final and said to be sent, yet the network never got it: lost.
            "lost": sorted(r["to"] for r in rows if r["state"] in ("sent", "delivered") and got[r["to"]] == 0),
            "not_received": sorted(r["to"] for r in rows if got[r["to"]] == 0),
            "unknown": sorted(r["to"] for r in rows if r["state"] == "unknown"),
            "unknown_received": sum(1 for r in rows if r["state"] == "unknown" and got[r["to"]]),
            "not_final": sorted(r["to"] for r in rows if r["state"] not in FINAL),
            "sent_without_reason": sum(1 for r in rows if r["state"] == "sent" and not r.get("error")),
            "sent_without_report": sum(1 for r in rows if r["state"] == "sent" and r.get("error")),
            "duplicate_parts": len(net.duplicate_parts),
        }
    finally:
        daemon.stop()
        for m in modems:
            await m.stop()
        net.close()


def table(report: dict[str, Any]) -> str:
    """The run's figures as a small table (printed by the full run, quoted in the issues' notes)."""
    rows = [("messages", report["messages"]), ("kills", report["kills"]), ("lines", report["lines"]),
            ("seconds", report["seconds"]), ("stored", report["stored"])]
    rows += [(f"state {k}", v) for k, v in sorted(report["states"].items())]
    rows += [("lost", len(report["lost"])), ("received twice", len(report["received_twice"])),
             ("duplicate parts", report["duplicate_parts"]), ("not final", len(report["not_final"])),
             ("unknown (received anyway)", f"{len(report['unknown'])} ({report['unknown_received']})"),
             ("sent, no report, with the reason", report["sent_without_report"]),
             ("sent without a reason", report["sent_without_reason"])]
    return "\n".join(f"{name:<34} {value}" for name, value in rows)


def check(report: dict[str, Any]) -> None:
    """The crash rules: none lost, none twice, all final, unknown only for sends in flight."""
    assert report["stored"] == report["messages"], report
    assert report["received_twice"] == [] and report["duplicate_parts"] == 0, report
    assert report["received_unknown_to_us"] == [], report
    assert report["not_final"] == [] and report["lost"] == [], report
    # A message the network never reported on says so; none stays `sent` without a word.
    assert report["sent_without_reason"] == 0, report
    # A message nobody received must be one we admit we cannot know about.
    assert set(report["not_received"]) <= set(report["unknown"]), report
    assert len(report["unknown"]) <= report["lines"] * report["kills"], report

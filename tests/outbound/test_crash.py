"""kill -9 while sending: none lost, none sent twice, every message final, `unknown` only for
sends in flight at a kill (at most one per line per kill). The full 2,000-message / 10-kill run
is marked slow and runs only with GATEWAYD_SLOW=1 (about 5 minutes), or as
`python bench/outbound.py crash`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from .crash import check, crash_scenario, table


@pytest.mark.timeout(120)
async def test_kill_9_mid_way_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    report = await crash_scenario(tmp_path, messages=300, kills=3, lines=2, latency=(0.05, 0.2), seed=11)
    check(report)
    assert report["kills"] == 3 and sum(report["states"].values()) == 300


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GATEWAYD_SLOW"), reason="about 5 minutes: set GATEWAYD_SLOW=1")
@pytest.mark.timeout(900)
async def test_kill_9_full_run(tmp_path: Path) -> None:
    report = await crash_scenario(tmp_path, messages=2000, kills=10, lines=1, latency=(0.05, 0.2), seed=5,
                                  drain_timeout=600)
    print("\n" + table(report))  # shown with -s: the figures the closing note quotes
    check(report)

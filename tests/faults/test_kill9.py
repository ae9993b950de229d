"""kill -9 at random moments against one fast line (20–50 ms a send), CI-sized: 300 messages, 3
kills. The slower two-line variant lives in tests/outbound/test_crash.py (and the 2,000-message,
10-kill run behind GATEWAYD_SLOW=1); here the sends are short, so kills land between the commit of
`sending` and the wire as often as inside a send. Same rules: none lost, none received twice,
every message final, `unknown` only for the send in flight at a kill (at most one per kill)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.outbound.crash import check, crash_scenario  # the scenario shared with the bench (tests/outbound)


@pytest.mark.timeout(150)
async def test_kill_9_on_a_fast_line_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    report = await crash_scenario(tmp_path, messages=300, kills=3, lines=1, latency=(0.02, 0.05), seed=23,
                                  drain_timeout=120)
    check(report)
    assert report["kills"] == 3 and sum(report["states"].values()) == 300, report
    assert len(report["unknown"]) <= 3 and report["lost"] == [], report

"""Why a queued message waits: the pure rule (read back through the API and the console in
tests/console/test_desk_pages.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.outbound.waiting import LineView, why_waiting
from gatewayd.store.messages import MessageRow

PARIS = ZoneInfo("Europe/Paris")
SUNDAY_NOON = datetime(2026, 1, 11, 11, 0, tzinfo=UTC)          # 12:00 in Paris, a Sunday
MONDAY_NOON = datetime(2026, 1, 12, 11, 0, tzinfo=UTC)
WINDOW = QuietHours(True, frozenset(range(6)), time(9, 0), time(20, 0), PARIS)


def row(**changes: object) -> MessageRow:
    base = MessageRow(1, "+33612340101", "Soldes", "marketing", "queued", 10, "campaign", None, None, 1, "GSM-7", 7,
                      None, SUNDAY_NOON - timedelta(minutes=5), None, 0, None, None, None, None, None, None, None,
                      SUNDAY_NOON, SUNDAY_NOON, None, None, None)
    return replace(base, **changes)  # type: ignore[arg-type]


def line(name: str = "line1", **changes: object) -> LineView:
    return replace(LineView(name, True, 255, None, None, False, False), **changes)  # type: ignore[arg-type]


def test_marketing_outside_the_window_waits_for_its_opening() -> None:
    wait = why_waiting(row(), now=SUNDAY_NOON, quiet=WINDOW, lines=[line()])
    assert wait is not None and wait.reason == "quiet_hours"
    assert wait.until == datetime(2026, 1, 12, 9, 0, tzinfo=PARIS)              # Monday 09:00, box time
    assert why_waiting(row(category="transactional"), now=SUNDAY_NOON, quiet=WINDOW, lines=[line()]).reason == "queue"


def test_caps_spacing_cooldown_lines_and_own_times() -> None:
    now = MONDAY_NOON
    reset = now + timedelta(minutes=40)
    capped = why_waiting(row(segments=2), now=now, quiet=WINDOW, lines=[line(room=1, cap_reset=reset)])
    assert (capped.reason, capped.until, capped.line) == ("line_cap", reset, "line1")
    spaced = why_waiting(row(), now=now, quiet=WINDOW,
                         lines=[line(quiet_until=now + timedelta(seconds=8)),
                                line("line2", quiet_until=now + timedelta(seconds=3))])
    assert (spaced.reason, spaced.line) == ("spacing", "line2")
    cooling = why_waiting(row(), now=now, quiet=WINDOW, lines=[line(quiet_until=now + timedelta(seconds=30),
                                                                    cooling_down=True)])
    assert cooling.reason == "cooldown"
    # A line with room and no spacing: the message is simply in the queue.
    assert why_waiting(row(), now=now, quiet=WINDOW, lines=[line(room=0), line("line2")]).reason == "queue"
    # Pinned to a line that is not ready.
    pinned = why_waiting(row(line="line2"), now=now, quiet=WINDOW, lines=[line(), line("line2", ready=False)])
    assert (pinned.reason, pinned.line) == ("no_line", "line2")
    retry = why_waiting(row(attempts=2, due_at=now + timedelta(seconds=20)), now=now, quiet=WINDOW, lines=[line()])
    assert (retry.reason, retry.until) == ("retry", now + timedelta(seconds=20))
    scheduled = why_waiting(row(state="scheduled", send_at=now + timedelta(days=1)), now=now, quiet=WINDOW, lines=[])
    assert (scheduled.reason, scheduled.until) == ("scheduled", now + timedelta(days=1))
    assert why_waiting(row(state="sent"), now=now, quiet=WINDOW, lines=[line()]) is None

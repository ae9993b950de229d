"""Why a message has not gone out yet (pure): the same rules the dispatcher applies when it picks
the next message, read back for the person or program asking ("waits for the marketing window,
09:00", "the line's hourly cap is used up until 15:00", "spacing between two SMS")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatewayd.outbound.quiet_hours import QuietHours


@dataclass(frozen=True)
class LineView:
    """What the dispatcher knows of one line right now."""

    name: str
    ready: bool
    room: int                       # segments it may still send in its cap windows
    cap_reset: datetime | None      # when its tightest exhausted cap window starts over
    quiet_until: datetime | None    # end of its spacing or cool-down after a send or a failure
    cooling_down: bool              # quiet because it failed, not only spacing
    busy: bool


@dataclass(frozen=True)
class Wait:
    """The reason, and when it ends when that is known.

    reason: scheduled | campaign_paused | retry | quiet_hours | no_line | line_cap | spacing | cooldown | queue"""

    reason: str
    until: datetime | None = None
    line: str | None = None

    def as_json(self) -> dict[str, Any]:
        from gatewayd.clock import utc_iso

        return {"reason": self.reason, "until": utc_iso(self.until), "modem": self.line}


def why_waiting(m: Any, *, now: datetime, quiet: QuietHours, lines: list[LineView]) -> Wait | None:
    """The wait of a scheduled or queued message `m` (a MessageRow); None for any other state.

    Checked in the order the dispatcher's claim applies them: its own time (schedule, retry
    backoff), the marketing window, then the lines that may carry it (the one asked for, or any)."""
    if m.state == "scheduled":
        return Wait("scheduled", m.send_at or m.due_at)
    if m.state != "queued":
        return None
    if m.due_at.year == 9999:   # store.messages.HELD_UNTIL: its campaign is paused
        return Wait("campaign_paused")
    if m.due_at > now:
        return Wait("retry" if m.attempts else "scheduled", m.due_at)
    if m.category == "marketing" and not quiet.allowed(now):
        return Wait("quiet_hours", quiet.next_open(now))
    candidates = [v for v in lines if v.ready and (m.line is None or v.name == m.line)]
    if not candidates:
        return Wait("no_line", None, m.line)
    if all(v.room < m.segments for v in candidates):
        resets = [v.cap_reset for v in candidates if v.cap_reset is not None]
        first = min(resets) if resets else None
        return Wait("line_cap", first, next((v.name for v in candidates if v.cap_reset == first), m.line))
    open_lines = [v for v in candidates if v.room >= m.segments]
    quiet_lines = [v for v in open_lines if v.quiet_until is not None and v.quiet_until > now]
    if len(quiet_lines) == len(open_lines):
        soonest = min(quiet_lines, key=lambda v: v.quiet_until or now)
        return Wait("cooldown" if soonest.cooling_down else "spacing", soonest.quiet_until, soonest.name)
    return Wait("queue")   # a line is free: others are ahead of it in the queue, or it is being picked now

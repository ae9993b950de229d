"""Pure outbound logic: quiet hours, caps, backoff, report folding."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gatewayd.config import OutboundSettings, QuietHoursSettings
from gatewayd.outbound.lines import Caps, LineBook, LineUsage, least_loaded, rebuild, spacing
from gatewayd.outbound.quiet_hours import QuietHours
from gatewayd.outbound.reports import describe_status, fold, is_delivered, is_final
from gatewayd.outbound.retry import RetryPolicy

PARIS = ZoneInfo("Europe/Paris")
UTC = timezone.utc


def paris(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=PARIS)


@pytest.fixture
def qh() -> QuietHours:
    return QuietHours.from_settings(QuietHoursSettings(), "Europe/Paris")


def test_default_window_is_monday_to_saturday_eight_to_eight(qh: QuietHours) -> None:
    assert qh.allowed(paris(2026, 1, 5, 8, 0))          # Monday 08:00
    assert not qh.allowed(paris(2026, 1, 5, 7, 59))
    assert qh.allowed(paris(2026, 1, 10, 19, 59))       # Saturday
    assert not qh.allowed(paris(2026, 1, 10, 20, 0))
    assert not qh.allowed(paris(2026, 1, 11, 12, 0))    # Sunday
    assert not qh.allowed(paris(2026, 5, 1, 12, 0))     # Labour Day (a Friday)
    assert not qh.allowed(paris(2026, 4, 6, 12, 0))     # Easter Monday
    assert qh.allowed(paris(2026, 7, 15, 12, 0).astimezone(UTC))  # any zone in, local time decides


def test_next_open_skips_sundays_holidays_and_follows_dst(qh: QuietHours) -> None:
    # Saturday evening -> Monday 08:00 (Sunday skipped).
    assert qh.next_open(paris(2026, 1, 10, 20, 30)) == paris(2026, 1, 12, 8).astimezone(UTC)
    # Before opening on a weekday -> the same day.
    assert qh.next_open(paris(2026, 1, 6, 3, 0)) == paris(2026, 1, 6, 8).astimezone(UTC)
    # Inside the window -> now.
    now = paris(2026, 1, 6, 9, 0)
    assert qh.next_open(now) == now
    # DST starts on Sunday 29 March 2026: Monday 08:00 is 06:00 UTC, no longer 07:00.
    assert qh.next_open(paris(2026, 3, 28, 21, 0)) == datetime(2026, 3, 30, 6, 0, tzinfo=UTC)
    # Easter weekend: Saturday evening -> Tuesday (Sunday and Easter Monday closed).
    assert qh.next_open(paris(2026, 4, 4, 21, 0)) == paris(2026, 4, 7, 8).astimezone(UTC)


def test_configurable_window_subdivision_and_disabled() -> None:
    custom = QuietHours.from_settings(QuietHoursSettings(days=["sat", "sun"], send_from=time(10, 0),
                                                         send_until=time(12, 0), holidays=False), "Europe/Paris")
    assert custom.allowed(paris(2026, 1, 11, 11, 0)) and not custom.allowed(paris(2026, 1, 5, 11, 0))
    assert custom.allowed(paris(2026, 5, 2, 11, 0))
    # Alsace-Moselle (subdivision 57) also rests on Good Friday and 26 December.
    moselle = QuietHours.from_settings(QuietHoursSettings(subdivision="57"), "Europe/Paris")
    plain = QuietHours.from_settings(QuietHoursSettings(), "Europe/Paris")
    assert not moselle.allowed(paris(2026, 4, 3, 12, 0)) and plain.allowed(paris(2026, 4, 3, 12, 0))
    off = QuietHours.from_settings(QuietHoursSettings(enabled=False), "Europe/Paris")
    assert off.allowed(paris(2026, 1, 11, 3, 0))
    with pytest.raises(ValueError, match="send_until"):
        QuietHoursSettings(send_from=time(20, 0), send_until=time(8, 0))
    with pytest.raises(ValueError, match="holiday calendar"):
        QuietHoursSettings(country="XX")


def test_line_usage_counts_calendar_windows_and_rolls_over() -> None:
    u = LineUsage(PARIS)
    caps = Caps(per_minute=3, per_hour=5, per_day=7)
    t = paris(2026, 1, 5, 9, 0, 10)
    assert u.room(t, caps) == 255                       # empty windows: any message fits whole
    u.record(t, 2)
    assert u.room(t, caps) == 1 and u.used(t) == (2, 2, 2)
    u.record(t, 1)
    assert u.room(t, caps) == 0
    assert u.next_reset(t, caps) == paris(2026, 1, 5, 9, 1)
    t2 = t + timedelta(minutes=1)
    assert u.room(t2, caps) == 2                         # the hour allows 2 more
    u.record(t2, 2)
    assert u.room(t2, caps) == 0 and u.next_reset(t2, caps) == paris(2026, 1, 5, 10, 0)
    t3 = paris(2026, 1, 5, 10, 0, 5)
    assert u.room(t3, caps) == 2                          # the day allows 2 more
    u.record(t3, 2)
    assert u.next_reset(t3, caps) == paris(2026, 1, 6, 0, 0)
    assert u.room(paris(2026, 1, 6, 0, 0, 1), caps) == 255
    assert LineUsage(PARIS).room(t, Caps()) == 255


def test_caps_survive_a_restart_via_rebuild() -> None:
    now = paris(2026, 1, 5, 15, 30, 20)
    sent = [("line1", paris(2026, 1, 4, 23, 59)), ("line1", paris(2026, 1, 5, 9, 0)),
            ("line1", paris(2026, 1, 5, 15, 10)), ("line1", paris(2026, 1, 5, 15, 30, 1)), ("line2", now)]
    usage = rebuild(["line1", "line2", "line3"], sent, PARIS, now)
    assert usage["line1"].used(now) == (1, 2, 3)
    assert usage["line2"].used(now) == (1, 1, 1) and usage["line3"].used(now) == (0, 0, 0)


def test_least_loaded_and_spacing() -> None:
    now = paris(2026, 1, 5, 12)
    busy, quiet = LineBook("a", LineUsage(PARIS)), LineBook("b", LineUsage(PARIS))
    busy.usage.record(now, 10)
    quiet.usage.record(now, 2)
    assert [b.name for b in least_loaded([busy, quiet], now)] == ["b", "a"]
    s = OutboundSettings(spacing_min_seconds=2, spacing_max_seconds=5)
    draws = [spacing(s, random.Random(i)) for i in range(50)]
    assert all(2 <= d <= 5 for d in draws) and len(set(draws)) > 10
    assert spacing(OutboundSettings(), random.Random(1)) == 0.0
    book = LineBook("c", LineUsage(PARIS), cooldown_until=10.0)
    assert not book.free(5.0) and book.free(10.0)


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(base=30, cap=600, max_attempts=5)
    rng = random.Random(3)
    for failures, ceiling in ((1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (60, 600)):
        for _ in range(20):
            assert ceiling / 2 <= policy.delay(failures, rng) <= ceiling
    assert policy.give_up(5) and not policy.give_up(4)
    assert policy.give_up(3, table_limit=2) and not policy.give_up(2, table_limit=2)
    assert not policy.give_up(4, table_limit=None)


def test_reports_fold_into_one_state() -> None:
    assert is_final(0x00) and not is_final(0x21) and is_final(0x46) and is_final(0x62)
    assert is_delivered(0x00) and is_delivered(0x02) and not is_delivered(0x46)
    assert "still trying" in describe_status(0x21) and describe_status(0x46) == "validity period expired"
    assert fold(3, [("delivered", 0), ("sent", 0x21), ("delivered", 0)]) is None
    assert fold(3, [("delivered", 0)] * 3) == "delivered"
    assert fold(2, [("delivered", 0)]) is None            # one part not reported yet
    assert fold(2, [("delivered", 0), ("failed", 0x46)]) == "failed"


def test_fast_segment_count_always_agrees_with_the_codec() -> None:
    from gatewayd.modem.segments import count_segments, has_lone_surrogate, segments_of

    rng = random.Random(11)
    alphabet = ["a", "é", "€", "[", "\n", "Ç", "ж", "中", "😀", "ÿ", " ", "\x1b"]
    texts = ["", "a" * 160, "a" * 161, "€" * 80, "€" * 81, "a" * 152 + "€" * 2, "ж" * 70, "ж" * 71, "😀" * 35,
             "😀" * 36, "ж" * 66 + "😀", "a" * 306 + "€"]
    for _ in range(3000):
        texts.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400))))
    for text in texts:
        info = count_segments(text)
        assert segments_of(text) == (info.segments, info.encoding), text
    assert has_lone_surrogate("ok \ud83d") and not has_lone_surrogate("ok 😀")


def test_simulator_demo_subscribers_are_numbers_the_console_can_answer() -> None:
    from gatewayd.modem.sim.lines import DEMO_SUBSCRIBERS
    from gatewayd.phone import normalise

    assert DEMO_SUBSCRIBERS
    for number in DEMO_SUBSCRIBERS:
        assert normalise(number, "FR") == number


def test_holiday_calendar_loads_one_country_and_matches_the_library() -> None:
    import subprocess
    import sys
    from datetime import date

    import holidays

    from gatewayd.outbound.quiet_hours import holiday_calendar

    for country, sub in (("fr", ""), ("FR", "57"), ("GB", "SCT"), ("DE", "BY")):
        light = holiday_calendar(country, sub)
        assert date(2026, 1, 1) in light  # computes 2026
        assert dict(light) == dict(holidays.country_holidays(country.upper(), subdiv=sub or None, years=[2026]))
    with pytest.raises(NotImplementedError):
        holiday_calendar("XX")
    with pytest.raises(NotImplementedError):
        holiday_calendar("FR", "99")
    # In a fresh interpreter, the daemon's path imports France only, not the ~280 country modules.
    code = ("import sys; from gatewayd.config import Settings; Settings(); "
            "print(sorted(m for m in sys.modules if m.startswith('holidays.countries')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "['holidays.countries.france']"

"""Template rendering: plain substitution, nothing evaluated, missing variables reported."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatewayd.campaigns.estimate import LineCap, estimate_duration, fast_segments
from gatewayd.campaigns.templates import (
    TemplateSyntaxError,
    compile_template,
    render,
    unknown_variables,
    with_stop_mention,
)
from gatewayd.modem.segments import count_segments


def test_substitution_and_missing_variables() -> None:
    t = compile_template("Bonjour {first_name} {last_name}, votre code {Code} expire le {date}.")
    out = render(t, {"first_name": "Zoé", "last_name": "", "code": "X1"})
    assert out.text == "Bonjour Zoé , votre code X1 expire le ."
    assert out.missing == ("last_name", "date")
    assert unknown_variables(t, ["code"]) == ("date",)


def test_nothing_is_evaluated() -> None:
    for text in ("{first_name.__class__}", "{first_name[0]}", "{first_name!r}", "{first_name:>10}",
                 "{{% import os %}}{", "{ 1+1 }", "{__import__('os').system('id')}"):
        with pytest.raises(TemplateSyntaxError):
            compile_template(text)
    # A value that looks like a template is pasted as it is, never rendered again.
    t = compile_template("{{literal}} {first_name} {{ {last_name} }}")
    out = render(t, {"first_name": "{last_name}", "last_name": "{{7*7}}"})
    assert out.text == "{literal} {last_name} { {{7*7}} }"


def test_syntax_errors_name_the_position() -> None:
    with pytest.raises(TemplateSyntaxError, match="position 9"):
        compile_template("Bonjour {first_name")
    with pytest.raises(TemplateSyntaxError, match="position 3"):
        compile_template("ab}c")


def test_stop_mention_appended_once() -> None:
    assert with_stop_mention("Promo", "STOP au 36") == "Promo\nSTOP au 36"
    assert with_stop_mention("Promo\nSTOP au 36", "STOP au 36") == "Promo\nSTOP au 36"
    assert with_stop_mention("Info", "") == "Info"


@given(st.text(alphabet=st.sampled_from(list("abcXYZ 0123@£€[]{}éèçÇ\nΩ😀ĄŁ")), max_size=400))
def test_fast_segments_agrees_with_the_modem_counter(text: str) -> None:
    assert fast_segments(text) == count_segments(text).segments


def test_duration_says_days_for_200k() -> None:
    est = estimate_duration(200_000, [LineCap("l1", 300, 3000), LineCap("l2", 300, 3000)],
                            sending_hours_per_day=12, seconds_per_message=6)
    assert est.messages_per_day == 6000
    assert est.text.endswith("days") and 30 < est.seconds / 86400 < 35
    short = estimate_duration(100, [LineCap("l1", None, None)], sending_hours_per_day=12, seconds_per_message=6)
    assert short.text == "about 10 min"

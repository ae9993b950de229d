"""Stored times: the text the store writes and reads back, and a NOT NULL time that is missing."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from gatewayd.clock import parse_iso, parse_iso_required, utc_iso
from gatewayd.store import calls


def test_a_required_time_round_trips_and_a_missing_one_is_named() -> None:
    when = datetime(2026, 3, 2, 10, 0, 0, 123000, tzinfo=timezone(timedelta(hours=1)))
    text = utc_iso(when)
    assert text == "2026-03-02T09:00:00.123Z"
    assert parse_iso_required(text) == when and parse_iso_required(text).tzinfo is not None
    assert parse_iso(None) is None
    with pytest.raises(ValueError, match="expected a stored time, found None"):
        parse_iso_required(None)  # type: ignore[arg-type]  # what a NULL column hands a row mapper


def test_a_row_mapper_refuses_a_null_required_time_instead_of_passing_none_on() -> None:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    select = ("SELECT 1 AS id, 'line1' AS line, '+33612345678' AS number, '2026-03-02T09:00:00.000Z' AS started_at,"
              " {ended} AS ended_at, 2 AS rings, 'caller' AS hung_up_by, NULL AS reply_message_id")
    good = calls._call(conn.execute(select.format(ended="'2026-03-02T09:00:09.000Z'")).fetchone())
    assert good.ended_at - good.started_at == timedelta(seconds=9)
    with pytest.raises(ValueError, match="stored time"):
        calls._call(conn.execute(select.format(ended="NULL")).fetchone())

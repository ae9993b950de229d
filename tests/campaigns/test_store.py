"""Store details that a shortcut could get wrong: range-run marking of submitted recipients."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import aiosqlite
from hypothesis import given, settings
from hypothesis import strategies as st

from gatewayd.store.campaigns import mark_submitted


async def _marked(pairs: list[tuple[int, int]]) -> dict[int, int]:
    conn = await aiosqlite.connect(":memory:")
    try:
        await conn.execute("CREATE TABLE campaign_recipients (id INTEGER PRIMARY KEY, state TEXT,"
                           " message_id INTEGER, submitted_at TEXT)")
        await conn.executemany("INSERT INTO campaign_recipients (id, state) VALUES (?, 'pending')",
                               [(i,) for i in range(1, 80)])
        await mark_submitted(conn, pairs, datetime(2026, 1, 5, tzinfo=UTC))
        async with conn.execute("SELECT id, message_id FROM campaign_recipients WHERE state = 'submitted'") as cur:
            return {r[0]: r[1] for r in await cur.fetchall()}
    finally:
        await conn.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 79), unique=True).map(sorted), st.lists(st.integers(1, 3), min_size=80, max_size=80))
def test_mark_submitted_sets_exactly_the_given_pairs(recipients: list[int], steps: list[int]) -> None:
    message_ids, mid = [], 1000
    for step in steps[:len(recipients)]:
        mid += step
        message_ids.append(mid)
    pairs = list(zip(recipients, message_ids, strict=True))
    assert asyncio.run(_marked(pairs)) == dict(pairs)

"""Raw transcripts of real modem families through the sans-IO parser: whole, byte by byte, split."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatewayd.modem.at import AtParser
from .transcript import Transcript, all_transcripts, render

TRANSCRIPTS = all_transcripts()
IDS = [t.name for t in TRANSCRIPTS]


def run(t: Transcript, chunker: Callable[[bytes], list[bytes]]) -> list[str]:
    parser = AtParser()
    out: list[str] = []
    for step in t.steps:
        if step.kind == "host":
            assert isinstance(step.data, str)
            parser.command_started(step.data)
        elif step.kind == "send":
            assert isinstance(step.data, str)
            parser.data_sent(step.data)
        else:
            assert isinstance(step.data, bytes)
            for chunk in chunker(step.data):
                out.extend(render(e) for e in parser.feed(chunk))
    return out


def test_every_family_has_a_transcript() -> None:
    assert {"sim800", "sim7600", "ec25", "e3372", "sierra", "telit", "garbage"} <= set(IDS)
    assert all(t.expected for t in TRANSCRIPTS)


@pytest.mark.parametrize("t", TRANSCRIPTS, ids=IDS)
def test_whole(t: Transcript) -> None:
    assert run(t, lambda b: [b]) == list(t.expected)


@pytest.mark.parametrize("t", TRANSCRIPTS, ids=IDS)
def test_byte_by_byte(t: Transcript) -> None:
    assert run(t, lambda b: [b[i:i + 1] for i in range(len(b))]) == list(t.expected)


@pytest.mark.parametrize("t", TRANSCRIPTS, ids=IDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_splits(t: Transcript, data: st.DataObject) -> None:
    def chunker(b: bytes) -> list[bytes]:
        cuts = sorted(data.draw(st.sets(st.integers(0, len(b)), max_size=8)))
        edges = [0, *cuts, len(b)]
        return [b[a:z] for a, z in itertools.pairwise(edges)]

    assert run(t, chunker) == list(t.expected)

"""Loader for the raw AT transcripts under tests/modem/transcripts (shared by the parser tests)."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from gatewayd.modem.at import AtEvent, Echo, FinalResult, InfoLine, Prompt, ResultKind, Urc

TRANSCRIPTS = Path(__file__).parent / "transcripts"


@dataclass(frozen=True)
class Step:
    """`host` (a command starts), `send` (text written after a prompt) or `modem` (bytes read)."""

    kind: str
    data: bytes | str


@dataclass(frozen=True)
class Transcript:
    name: str
    steps: tuple[Step, ...]
    expected: tuple[str, ...]


def _unescape(text: str) -> bytes:
    return codecs.decode(text, "unicode_escape").encode("latin-1")


def load(path: Path) -> Transcript:
    """Read one transcript file; directive lines are `host:`, `send:`, `modem:`, `expect:`."""
    steps: list[Step] = []
    expected: list[str] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        key, sep, value = raw.partition(": ")
        if not sep:
            key, value = raw.rstrip(":"), ""
        if key == "host":
            steps.append(Step("host", value))
        elif key == "send":
            steps.append(Step("send", _unescape(value).decode("latin-1")))
        elif key == "modem":
            steps.append(Step("modem", _unescape(value)))
        elif key == "expect":
            expected.append(value)
        else:
            raise ValueError(f"{path.name}:{number}: unknown directive {key!r}")
    return Transcript(path.stem, tuple(steps), tuple(expected))


def all_transcripts() -> list[Transcript]:
    return [load(p) for p in sorted(TRANSCRIPTS.glob("*.txt"))]


def render(event: AtEvent) -> str:
    """The `expect:` spelling of an event."""
    if isinstance(event, Echo):
        return f"echo {event.text}"
    if isinstance(event, InfoLine):
        return f"info {event.text}"
    if isinstance(event, Prompt):
        return "prompt"
    if isinstance(event, FinalResult):
        if event.kind in (ResultKind.CME, ResultKind.CMS):
            return f"final {event.kind.value} {event.code if event.code is not None else event.text}"
        return f"final {event.kind.value}"
    if isinstance(event, Urc):
        parts = [event.name, event.line] + ([event.pdu] if event.pdu is not None else [])
        return "urc " + " | ".join(parts)
    raise TypeError(event)

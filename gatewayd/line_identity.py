"""Lines with an identity: a label and an own number for each line, wherever a line is named.

The number is the SIM's own (AT+CNUM, when the SIM stores it), else the one an administrator set;
the label is the administrator's, else the line's configured name. One rule, used by the API and
the console alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gatewayd.clock import Clock
from gatewayd.errors import InvalidInput, NotFound
from gatewayd.modem.events import LineStatus
from gatewayd.outbound.compose import LineDirectory
from gatewayd.phone import InvalidNumber, normalise
from gatewayd.store import line_identity as store
from gatewayd.store.db import Database

MAX_LABEL = 40


@dataclass(frozen=True)
class Identity:
    name: str
    label: str
    number: str | None
    number_source: str | None  # 'sim' | 'admin' | None

    def json(self) -> dict[str, str | None]:
        return {"label": self.label, "number": self.number, "number_source": self.number_source}


def identity_of(name: str, own_number: str | None, stored: tuple[str, str | None] | None) -> Identity:
    """The line's identity from what its SIM says and what an administrator set (pure)."""
    label, number = stored if stored is not None else ("", None)
    if own_number:
        return Identity(name, label or name, own_number, "sim")
    return Identity(name, label or name, number, "admin" if number else None)


class LineIdentities:
    """The app keeps one (keys.LINE_IDENTITIES): what administrators set is read at start and kept
    in memory, so the composer (a line's number in the STOP mention) and every page naming a line
    ask it without a query."""

    def __init__(self, db: Database, clock: Clock, lines: LineDirectory, region: str,
                 statuses: Callable[[], Sequence[LineStatus]] | None = None) -> None:
        self.db = db
        self.clock = clock
        self.lines = lines
        self.region = region
        self.statuses = statuses or (lambda: ())
        self.stored: dict[str, tuple[str, str | None]] = {}

    async def load(self) -> None:
        async with self.db.read() as conn:
            self.stored = await store.all_of(conn)

    async def of(self, statuses: Mapping[str, LineStatus | None]) -> dict[str, Identity]:
        """name -> identity for these lines (the pool's statuses give the SIM's number)."""
        await self.load()
        return {name: identity_of(name, s.own_number if s else None, self.stored.get(name))
                for name, s in statuses.items()}

    def get(self, name: str) -> Identity:
        """The identity of line `name` from memory (its SIM's number as the pool last read it)."""
        status = next((s for s in self.statuses() if s.name == name), None)
        return identity_of(name, status.own_number if status else None, self.stored.get(name))

    def number_of(self, name: str) -> str | None:
        return self.get(name).number

    def all(self) -> dict[str, Identity]:
        """Every line of the pool, in its order."""
        own = {s.name: s.own_number for s in self.statuses()}
        return {name: identity_of(name, own.get(name), self.stored.get(name)) for name in self.lines.names()}

    async def set(self, name: str, *, label: str, number: str | None, actor: str | None) -> None:
        if name not in self.lines.names():
            raise NotFound(code="line.unknown", field="line", line=name, known=", ".join(self.lines.names()) or "none")
        label = label.strip()
        if len(label) > MAX_LABEL:
            raise InvalidInput("label", code="text.max_length", max=MAX_LABEL)
        e164 = None
        if number and number.strip():
            try:
                e164 = normalise(number, self.region)
            except InvalidNumber as exc:
                raise InvalidInput(problems=[exc.problem.at("number")]) from None
        async with self.db.write() as conn:
            await store.put(conn, name, label, e164, actor, self.clock.now())
        self.stored[name] = (label, e164)

"""Row plumbing of imports (sync, run in worker threads): taking rows, classifying chunks, the spool,
and turning spooled cells into contact columns.

The spool is the analysed file's valid rows, one JSON array of [line, e164, cells] per chunk, so
step 2 and campaign launches read them back chunk by chunk without parsing the file again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gatewayd.clock import parse_iso, utc_iso
from gatewayd.contacts import analysis as an
from gatewayd.contacts.numbers import check_number
from gatewayd.store import contacts as contact_store


class RowBuilder:
    """Turns spooled cells into ContactData with the column plan worked out once (200,000 rows)."""

    def __init__(self, mapping: tuple[str, ...], names: dict[str, str], source: str, statement: str,
                 actor: str, now: Any) -> None:
        self.builtin: dict[str, int] = {t: mapping.index(t) for t in ("last_name", "first_name", "email", "language")
                                        if t in mapping}
        self.custom = [(i, names.get(t[6:].lower(), t[6:])) for i, t in enumerate(mapping) if t.startswith("field:")]
        self.optin = (source, utc_iso(now), statement, actor)
        self.optin_cols = {t: mapping.index(t) for t in an.RECORD_TARGETS if t.startswith("optin_") and t in mapping}
        self.groups_col = mapping.index("groups") if "groups" in mapping else None

    def _cell(self, cells: list[str], target: str, limit: int) -> str:
        i = self.builtin.get(target)
        return cells[i].strip()[:limit] if i is not None and i < len(cells) else ""

    def _optin(self, cells: list[str]) -> tuple[Any, ...]:
        """The file's own opt-in record (a contacts export keeps where each consent came from) when it
        has a valid date, else the certification given for this import."""
        if "optin_at" not in self.optin_cols:
            return self.optin
        n = len(cells)
        got = {t: cells[i].strip() for t, i in self.optin_cols.items() if i < n}
        try:
            at = parse_iso(got.get("optin_at")) if got.get("optin_at") else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None or not got.get("optin_statement"):
            return self.optin
        return (got.get("optin_source", "")[:200] or self.optin[0], utc_iso(at), got["optin_statement"][:1000],
                got.get("optin_by", "")[:200] or None)

    def group_names(self, cells: list[str]) -> list[str]:
        i = self.groups_col
        return an.split_groups(cells[i]) if i is not None and i < len(cells) else []

    def build(self, number: str, cells: list[str]) -> tuple[Any, ...]:
        """The contact's column values (contact_store.bulk_row) for one spooled row."""
        n = len(cells)
        custom = {name: v[:500] for i, name in self.custom if i < n and (v := cells[i].strip())}
        language = self._cell(cells, "language", 40)
        return contact_store.bulk_row(
            number, self._cell(cells, "last_name", 100), self._cell(cells, "first_name", 100),
            an.clean_email(self._cell(cells, "email", 200)),
            an.normalise_language(language) if language else None, custom, self._optin(cells))


def width(cells: list[str]) -> int:
    """Columns up to the last non-empty cell (trailing separators add nothing)."""
    n = len(cells)
    while n and not cells[n - 1].strip():
        n -= 1
    return n


def take(rows: Iterator[tuple[int, list[str]]], n: int) -> list[tuple[int, list[str]]]:
    out = []
    for line, cells in rows:
        out.append((line, cells))
        if len(out) >= n:
            break
    return out


def guess_mobile_column(rows: list[tuple[int, list[str]]], width: int, region: str) -> tuple[str, ...]:
    """Without a header: the column where most cells are phone numbers."""
    scores = [0] * width
    for _, cells in rows:
        for i, c in enumerate(cells[:width]):
            if sum(ch.isdigit() for ch in c) >= 6 and check_number(c, region).e164:
                scores[i] += 1
    mapping = ["ignore"] * width
    if width:
        mapping[max(range(width), key=lambda i: scores[i])] = "mobile"
    return tuple(mapping)


def classify_chunk(rows: Iterator[tuple[int, list[str]]], analyzer: an.Analyzer, n: int) -> list[list[Any]]:
    """Up to `n` valid first-seen rows as [line, e164, cells] (runs in a worker thread); rejected rows
    gather in analyzer.rejected (at most `n` too). Both empty: the file is read to its end."""
    out: list[list[Any]] = []
    for line, cells in rows:
        number = analyzer.feed(line, cells)
        if number is not None:
            out.append([line, number, cells])
            if len(out) >= n:
                break
        elif len(analyzer.rejected) >= n:
            break  # a file of rejects is handed over in chunks too
    return out


def write_spool_chunk(out: Any, records: list[list[Any]]) -> None:
    out.write(json.dumps(records, ensure_ascii=False, separators=(",", ":")))
    out.write("\n")


def read_spool(path: Path) -> Iterator[list[list[Any]]]:
    with path.open("r", encoding="utf-8") as fh:
        for text in fh:
            yield json.loads(text)


"""A list of phone numbers from a file's rows or a pasted text (a STOP list from a previous
provider, for example): the column holding numbers is found, each cell checked, duplicates
dropped, and every line that is not a number said with its reason. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gatewayd.contacts import analysis as an
from gatewayd.contacts import rows as rowkit
from gatewayd.contacts.numbers import check_number
from gatewayd.problems import Problem

REPORTED = 20  # unreadable lines named in the report; the rest are counted
_PASTE_SPLIT = re.compile(r"[\n;,\t]+")


@dataclass
class NumberList:
    numbers: list[str] = field(default_factory=list)                      # E.164, first seen order
    duplicates: int = 0
    invalid: int = 0
    invalid_lines: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)  # (line, cell, problem as data)


def pasted_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """A pasted list (one number per line, or separated by commas/semicolons) as one-cell rows."""
    for number, chunk in enumerate((c.strip() for c in _PASTE_SPLIT.split(text)), start=1):
        if chunk:
            yield number, [chunk]


def collect_numbers(rows: Iterable[tuple[int, list[str]]], region: str, *, file: bool = True,
                    head_rows: int = 50) -> NumberList:
    """The numbers in `rows` ((line, cells) as the import readers give them); a `file` may open
    with a header line, a pasted list does not."""
    it = iter(rows)
    head = [(line, cells) for line, cells in rowkit.take(it, head_rows) if any(c.strip() for c in cells)]
    out = NumberList()
    if not head:
        return out
    width = max(rowkit.width(cells) for _, cells in head)
    column = rowkit.guess_mobile_column(head, width, region).index("mobile")
    if file and an.looks_like_header(head[0][1], region):
        head = head[1:]  # a header line names the columns; it is not an unreadable number
    seen: set[str] = set()
    for line, cells in (*head, *it):
        cell = cells[column].strip() if column < len(cells) else ""
        if not cell:
            continue
        check = check_number(cell, region)
        if check.e164 is None:
            out.invalid += 1
            if len(out.invalid_lines) < REPORTED:
                out.invalid_lines.append((line, cell[:40], (check.problem or Problem("phone.not_a_number")).as_data()))
        elif check.e164 in seen:
            out.duplicates += 1
        else:
            seen.add(check.e164)
            out.numbers.append(check.e164)
    return out

"""Where a file's header is, and what its columns hold when it has none (pure).

Office files often open with a title ("Liste des adhérents — saison 2027"), a date or blank rows
above the real header. The header is the first of the opening rows that reads like one (a known
column name, or text in most columns and no phone number) and is about as wide as the data below
it; a row of one or two cells above wide data is a title, not a header.

Without a header, each column's role is guessed from its cells: phone numbers, e-mail addresses,
languages, dates, and words (names: the column in capitals, else the first, is the last name).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence

from gatewayd.contacts import analysis as an
from gatewayd.contacts.dates import looks_like_date
from gatewayd.contacts.numbers import check_number

HEADER_SEARCH_ROWS = 10  # a header further down than this is chosen by the user
_WORD = re.compile(r"^[^\W\d_][^\W\d_ '’.\-]*(?:[ '’.\-]+[^\W\d_]+)*\.?$")
ROLE_SHARE = 0.6  # share of a column's filled cells that must agree for a role to be proposed


def filled(cells: Sequence[str]) -> int:
    return sum(1 for c in cells if c.strip())


def data_width(rows: Sequence[Sequence[str]]) -> int:
    """The most common number of filled cells among the rows (titles and notes are rare)."""
    counts = Counter(filled(r) for r in rows if filled(r))
    if not counts:
        return 0
    return max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]


def _has_number(cells: Sequence[str], region: str) -> bool:
    return any(check_number(c, region).e164 for c in cells if sum(ch.isdigit() for ch in c) >= 6)


def find_header(rows: Sequence[Sequence[str]], region: str) -> int | None:
    """Index in `rows` of the header row, or None when the file has no header.

    A candidate fills at least half the data's width (titles are narrower), holds no phone
    number, and has a known column name, or text without digits in every filled cell."""
    width = data_width(rows)
    known = {a for aliases in an._ALIASES.values() for a in aliases}
    plain = None
    for i, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        n = filled(cells)
        if not n or n * 2 < width or (width > 1 and n < 2):
            continue
        if _has_number(cells, region):
            return plain  # data has started: the header, if any, was above
        names = [an.fold(c) for c in cells if c.strip()]
        if any(name in known for name in names):
            return i
        if plain is None and all(not any(ch.isdigit() for ch in c) for c in cells if c.strip()):
            plain = i
    return plain


def guess_roles(rows: Sequence[Sequence[str]], width: int, region: str) -> tuple[str, ...]:
    """A mapping for a headerless file from its cells: mobile, email, language, a date field, names."""
    columns = [[r[i].strip() for r in rows if i < len(r) and r[i].strip()] for i in range(width)]
    mapping = ["ignore"] * width

    def share(values: list[str], test: Callable[[str], object]) -> float:
        return sum(1 for v in values if test(v)) / len(values) if values else 0.0

    phone = [share(v, lambda c: sum(ch.isdigit() for ch in c) >= 6 and check_number(c, region).e164) for v in columns]
    if width and max(phone) >= ROLE_SHARE:
        mapping[max(range(width), key=lambda i: phone[i])] = "mobile"
    dates = 0
    names: list[int] = []
    for i, values in enumerate(columns):
        if mapping[i] != "ignore" or not values:
            continue
        if share(values, lambda c: an._EMAIL.match(c)) >= ROLE_SHARE and "email" not in mapping:
            mapping[i] = "email"
        elif share(values, lambda c: an.normalise_language(c)) >= ROLE_SHARE and "language" not in mapping:
            mapping[i] = "language"
        elif share(values, looks_like_date) >= ROLE_SHARE:
            dates += 1
            mapping[i] = "field:date" if dates == 1 else f"field:date_{dates}"
        elif share(values, lambda c: bool(_WORD.match(c))) >= ROLE_SHARE:
            names.append(i)
    if names:
        capitals = [i for i in names[:2] if share(columns[i], lambda c: c.isupper()) >= ROLE_SHARE]
        last = capitals[0] if capitals else names[0]
        mapping[last] = "last_name"
        others = [i for i in names[:2] if i != last]
        if others:
            mapping[others[0]] = "first_name"
    return tuple(mapping)

"""CSV as office staff open it: Excel-friendly (UTF-8 BOM, CRLF), streamed in batches, and safe.

A cell starting with = + - @ (or a tab/CR) would run as a formula in a spreadsheet ("CSV
injection"): names and texts come from imported files and from SMS senders, so such a cell gets a
leading apostrophe, which spreadsheets show as text. Our own importer strips it again.

A spreadsheet may also split the file at another separator than the one written (a ';' file
opened by an English-locale Excel splits at ','): then any text after a ',' ';' or tab inside a
cell starts a cell of its own. Such a text that could start a formula gets the apostrophe too.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterable, Sequence

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A separator, blanks or quotes a parser skips, then a formula's first character.
_SPLIT_FORMULA = re.compile(r"([,;\t][ \"]*)(?=[=+\-@\t\r])")


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, whatever separator it splits the file at, gets an
    apostrophe before each place a formula could start (shown as text)."""
    cell = _SPLIT_FORMULA.sub(r"\1'", cell)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def unneutralise(cell: str) -> str:
    """The cell neutralise() was given: the apostrophe it added before a formula character is removed."""
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:].startswith(_FORMULA_START) else cell


async def csv_stream(header: Sequence[str], batches: AsyncIterator[Iterable[Sequence[object]]], *,
                     separator: str = ";") -> AsyncIterator[bytes]:
    """The header row (after a BOM), then one chunk per batch of rows; None cells are empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=separator, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    yield ("\ufeff" + buf.getvalue()).encode("utf-8")
    async for rows in batches:
        buf.seek(0)
        buf.truncate()
        for row in rows:
            writer.writerow([neutralise("" if v is None else str(v)) for v in row])
        yield buf.getvalue().encode("utf-8")

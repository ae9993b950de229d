"""Checks a workbook (.xlsx) against memory limits before openpyxl reads it.

openpyxl keeps every shared string of a workbook in memory and pads each row to its last column,
so a 662 KB file holding 16 million shared strings, or rows with a cell in column XFD, takes
gigabytes. This module streams the archive's XML once, counting tags without building anything:
the declared decompressed size of the whole archive, the shared strings, the cells of each sheet
and the width of each row. The first limit passed raises XlsxTooBig naming it.

A member's declared size also bounds what is decompressed from it: zipfile stops there (and the
CRC check then fails for a member that lied), so the scan itself reads a bounded number of bytes.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from gatewayd.problems import CodedValueError

CHUNK = 1 << 20
# Start tags of rows, cells and shared-string items, with or without a namespace prefix. In XML
# text '<' is always escaped, so every unescaped '<' opens markup: counting tags needs no parser.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c|si)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb'\br\s*=\s*["\']([A-Za-z]{1,3})[0-9]*["\']')


class XlsxTooBig(CodedValueError):
    """The workbook passes a limit: a `file.*` code naming it (and the setting that sets it)."""


@dataclass(frozen=True)
class XlsxLimits:
    max_cells: int = 5_000_000
    max_shared_strings: int = 1_000_000
    max_columns: int = 1000
    max_unzipped_bytes: int = 200 * 1024 * 1024


def column_number(letters: bytes) -> int:
    """'A' → 1, 'Z' → 26, 'AA' → 27, 'XFD' → 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ch - 64)
    return n


def _tags(stream: IO[bytes]) -> Iterator[tuple[bytes, bytes]]:
    """(tag name, attributes) of every row/c/si start tag, read chunk by chunk."""
    carry = b""
    while chunk := stream.read(CHUNK):
        buf = carry + chunk
        cut = buf.rfind(b"<")
        if cut != -1 and buf.find(b">", cut) == -1:
            buf, carry = buf[:cut], buf[cut:]
        else:
            carry = b""
        if len(carry) > CHUNK:  # a "tag" longer than a megabyte is not a spreadsheet's
            raise XlsxTooBig("file.xml_tag_too_long")
        for match in _TAG.finditer(buf):
            yield match.group(1), match.group(2)


def check_workbook(path: Path, limits: XlsxLimits) -> None:
    """Raise XlsxTooBig when reading the workbook would pass one of `limits`."""
    with zipfile.ZipFile(path) as zf:
        members = zf.infolist()
        unzipped = sum(m.file_size for m in members)
        if unzipped > limits.max_unzipped_bytes:
            raise XlsxTooBig("file.xlsx_unzipped_too_big", size=round(unzipped / 1e6),
                             limit=round(limits.max_unzipped_bytes / 1e6))
        for member in members:
            name = member.filename.lower()
            if name.endswith("sharedstrings.xml"):
                with zf.open(member) as stream:
                    _check_shared_strings(stream, limits)
            elif name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with zf.open(member) as stream:
                    _check_sheet(stream, member.filename.rsplit("/", 1)[-1][:-4], limits)


def _check_shared_strings(stream: IO[bytes], limits: XlsxLimits) -> None:
    count = 0
    for tag, _ in _tags(stream):
        if tag == b"si":
            count += 1
            if count > limits.max_shared_strings:
                raise XlsxTooBig("file.xlsx_too_many_strings", limit=limits.max_shared_strings)


def _check_sheet(stream: IO[bytes], sheet: str, limits: XlsxLimits) -> None:
    cells = row = column = 0
    for tag, attributes in _tags(stream):
        if tag == b"row":
            row += 1
            column = 0
            continue
        if tag != b"c":
            continue
        cells += 1
        ref = _REF.search(attributes)
        column = column_number(ref.group(1)) if ref else column + 1
        if column > limits.max_columns:
            raise XlsxTooBig("file.xlsx_too_many_columns", sheet=sheet, row=row, column=column,
                             limit=limits.max_columns)
        if cells > limits.max_cells:
            raise XlsxTooBig("file.xlsx_too_many_cells", sheet=sheet, limit=limits.max_cells)

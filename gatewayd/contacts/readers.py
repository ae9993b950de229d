"""Uploaded files as rows of strings: CSV/TXT (encoding and separator sniffed), XLSX and XLS.

XLSX streams row by row. Legacy .xls (Excel 97-2003, BIFF8 in an OLE2 compound file) is read
with xlrd (pure Python): one sheet at a time, its rows kept without padding. A BIFF8 sheet holds at
most 65,536 rows of 256 columns and the upload is capped at imports.max_bytes, and the reader
refuses a sheet past MAX_XLS_CELLS before turning it into text, so memory stays bounded.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatewayd.csv_export import unneutralise
from gatewayd.problems import CodedValueError
from gatewayd.contacts.xlsx_limits import XlsxLimits, XlsxTooBig, check_workbook

log = logging.getLogger(__name__)

SAMPLE_BYTES = 64 * 1024
SEPARATORS = (";", ",", "\t", "|")
csv.field_size_limit(1024 * 1024)  # one huge cell is refused by the row check, not by csv


class FileProblem(CodedValueError):
    """The file cannot be read as an import: a `file.*` code (the wording tells the user what to do)."""


@dataclass(frozen=True)
class TextFormat:
    encoding: str          # Python codec name
    encoding_label: str    # what the report shows: UTF-8, UTF-8 (BOM), Windows-1252, UTF-16
    separator: str | None  # None: one column per line


def sniff_kind(path: Path) -> str:
    """'xlsx' or 'text' from the first bytes; FileProblem for XLS and other binaries."""
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                if "xl/workbook.xml" in zf.namelist():
                    return "xlsx"
        except zipfile.BadZipFile:
            raise FileProblem("file.zip_damaged") from None
        raise FileProblem("file.zip_not_xlsx")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        # Excel saves a password-protected .xlsx as an OLE2 file too, holding an "EncryptedPackage"
        # stream: its name (UTF-16) is in the file's directory.
        if "EncryptedPackage".encode("utf-16-le") in head + _ole_directory(path, head):
            raise FileProblem("file.password")
        directory = head + _ole_directory(path, head)
        if "Workbook".encode("utf-16-le") in directory or "Book".encode("utf-16-le") in directory:
            return "xls"
        raise FileProblem("file.office_not_xls")
    if head.startswith(b"%PDF") or head.startswith(b"\x89PNG"):
        raise FileProblem("file.not_spreadsheet")
    return "text"


def _ole_directory(path: Path, header: bytes) -> bytes:
    """The first directory sectors of an OLE2 compound file (where its stream names are): the
    header gives the sector size (2**shift at offset 30) and the first directory sector (offset 48)."""
    if len(header) < 52:
        return b""
    shift = int.from_bytes(header[30:32], "little")
    first = int.from_bytes(header[48:52], "little")
    if not 7 <= shift <= 16 or first >= 0xFFFFFFFA:  # not a sector size, or a special sector id
        return b""
    with path.open("rb") as fh:
        fh.seek((first + 1) << shift)
        return fh.read(8 << shift)


def detect_encoding(sample: bytes) -> tuple[str, str]:
    """(codec, label): BOMs first, then strict UTF-8, else Windows-1252 (French Excel's ANSI)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", "UTF-8 (BOM)"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", "UTF-16"
    if b"\x00" in sample[:4096]:
        raise FileProblem("file.binary")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(sample, final=False)  # a character cut by the sample's end is not an error
        return "utf-8", "UTF-8"
    except UnicodeDecodeError:
        return "cp1252", "Windows-1252"


def detect_separator(lines: list[str]) -> str | None:
    """The separator giving the same number (> 1) of columns on most sample lines, quotes honoured."""
    lines = [ln for ln in lines if ln.strip()][:30]
    if not lines:
        return None
    best: tuple[float, str | None] = (0.0, None)
    for sep in SEPARATORS:
        counts = [len(r) for r in csv.reader(lines, delimiter=sep) if r]
        if not counts or max(counts) < 2:
            continue
        mode = max(set(counts), key=counts.count)
        if mode < 2:
            continue
        score = counts.count(mode) / len(counts) + mode / 1000  # consistency first, then width
        if score > best[0]:
            best = (score, sep)
    return best[1]


def text_format(path: Path) -> TextFormat:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    if not sample.strip():
        raise FileProblem("file.empty")
    encoding, label = detect_encoding(sample)
    if encoding == "utf-8" and not _all_utf8(path):
        encoding, label = "cp1252", "Windows-1252"  # accents past the sample were not UTF-8
    text = sample.decode(encoding, errors="ignore")
    lines = text.splitlines()[:-1] or text.splitlines()  # the last sampled line may be cut
    return TextFormat(encoding, label, detect_separator(lines))


def _all_utf8(path: Path) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while block := fh.read(1 << 20):
                decoder.decode(block, final=False)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _first_bad_line(path: Path, encoding: str) -> int:
    """Physical line number of the first line that `encoding` cannot decode (0 if none)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    number = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                decoder.decode(raw, final=False)
            except UnicodeDecodeError:
                return number
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return number  # a character cut by the end of the file
    return 0


def _undecodable(path: Path, fmt: TextFormat, exc: UnicodeDecodeError) -> FileProblem:
    # The decoder reads ahead of the reader: find the physical line in the bytes.
    return FileProblem("file.undecodable", line=_first_bad_line(path, fmt.encoding), encoding=fmt.encoding_label,
                       reason=exc.reason)


def iter_text_rows(path: Path, fmt: TextFormat) -> Iterator[tuple[int, list[str]]]:
    """(line number where the record starts, cells) for every record; quoted newlines stay in a cell."""
    with path.open("r", encoding=fmt.encoding, errors="strict", newline="") as fh:
        if fmt.separator is None:
            try:
                for number, line in enumerate(fh, start=1):
                    yield number, [line.rstrip("\r\n")]
            except UnicodeDecodeError as exc:  # a BOM vouches for the encoding, not for every byte after it
                raise _undecodable(path, fmt, exc) from None
            return
        reader = csv.reader(fh, delimiter=fmt.separator, quotechar='"', skipinitialspace=False, strict=False)
        start = 1
        try:
            for row in reader:
                # Our own exports guard formula-like cells with an apostrophe ('+33…): read them back bare.
                yield start, [unneutralise(c) if c[:1] == "'" else c for c in row]
                start = reader.line_num + 1
        except UnicodeDecodeError as exc:
            raise _undecodable(path, fmt, exc) from None
        except csv.Error as exc:
            if "field limit" in str(exc):
                raise FileProblem("file.cell_too_long", line=reader.line_num, limit=csv.field_size_limit()) from None
            raise FileProblem("file.csv_error", line=reader.line_num, error=str(exc)) from None


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person saw: integral floats without '.0', dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e17:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


DAMAGED_WORKBOOK = "file.damaged_xlsx"


DEFAULT_XLSX_LIMITS = XlsxLimits()


def _open_workbook(path: Path, limits: XlsxLimits | None) -> Any:
    """The workbook in read-only mode, checked first against `limits` (None: checked already)."""
    import openpyxl

    if limits is not None:
        try:
            check_workbook(path, limits)
        except XlsxTooBig as exc:
            raise FileProblem(exc.problem.code, **exc.problem.params) from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            log.info("workbook %s unreadable: %s: %s", path.name, type(exc).__name__, exc)
            raise FileProblem(DAMAGED_WORKBOOK) from None
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged archives; the user needs one answer
        log.info("workbook %s unreadable: %s: %s", path.name, type(exc).__name__, exc)
        raise FileProblem(DAMAGED_WORKBOOK) from None


def xlsx_sheets(path: Path, limits: XlsxLimits | None = DEFAULT_XLSX_LIMITS) -> list[str]:
    wb = _open_workbook(path, limits)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def iter_xlsx_rows(path: Path, sheet: str | None,
                   limits: XlsxLimits | None = DEFAULT_XLSX_LIMITS) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of one sheet in read-only streaming mode; formulas give their cached value.
    `limits` None: the caller checked the workbook already."""
    wb = _open_workbook(path, limits)
    number = 0
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise FileProblem("file.no_sheet", sheet=sheet, sheets=", ".join(wb.sheetnames))
        ws = wb[sheet] if sheet is not None else wb[wb.sheetnames[0]]
        # Some writers record a wrong dimension; reset it so every row is read.
        ws.reset_dimensions()
        # The sheet's XML is parsed as it streams: damage deep inside shows up mid-way, not at open.
        for number, row in enumerate(ws.iter_rows(values_only=True), start=1):
            yield number, [cell_text(v) for v in row]
    except FileProblem:
        raise
    except Exception as exc:
        log.info("workbook %s unreadable after row %d: %s: %s", path.name, number, type(exc).__name__, exc)
        raise FileProblem("file.damaged_after_row", row=number) from None
    finally:
        wb.close()



MAX_XLS_CELLS = 2_000_000  # 200,000 rows of 10 columns; a BIFF8 sheet can claim 16.7 million
DAMAGED_XLS = "file.damaged_xls"


def _open_xls(path: Path) -> Any:
    import xlrd

    try:
        # on_demand: sheets are parsed when asked for, one at a time; ragged_rows: no padding.
        return xlrd.open_workbook(str(path), on_demand=True, ragged_rows=True, logfile=_NullLog())
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, struct errors…; one answer for users
        log.info("xls workbook %s unreadable: %s: %s", path.name, type(exc).__name__, exc)
        if "encrypt" in str(exc).lower() or "password" in str(exc).lower():
            raise FileProblem("file.password") from None
        raise FileProblem(DAMAGED_XLS) from None


class _NullLog:
    """xlrd prints warnings about odd records to a log file; the import report says what matters."""

    def write(self, _text: str) -> None:
        pass


def xls_sheets(path: Path) -> list[str]:
    book = _open_xls(path)
    try:
        return list(book.sheet_names())
    finally:
        book.release_resources()


def xls_cell_text(kind: int, value: Any, datemode: int) -> str:
    """An xlrd cell as the text a person saw (numbers are floats in BIFF: 612345678.0 -> '612345678')."""
    import xlrd

    if kind == xlrd.XL_CELL_DATE:
        try:
            return cell_text(xlrd.xldate.xldate_as_datetime(value, datemode))
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            return cell_text(value)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "1" if value else "0"
    if kind in (xlrd.XL_CELL_ERROR, xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    return cell_text(value)


def iter_xls_rows(path: Path, sheet: str | None) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of one sheet of a legacy .xls workbook; formulas give their cached value."""
    book = _open_xls(path)
    try:
        names = book.sheet_names()
        if sheet is not None and sheet not in names:
            raise FileProblem("file.no_sheet", sheet=sheet, sheets=", ".join(names))
        try:
            ws = book.sheet_by_name(sheet) if sheet is not None else book.sheet_by_index(0)
        except Exception as exc:
            log.info("xls sheet of %s unreadable: %s: %s", path.name, type(exc).__name__, exc)
            raise FileProblem(DAMAGED_XLS) from None
        cells = sum(ws.row_len(r) for r in range(ws.nrows))
        if cells > MAX_XLS_CELLS:
            raise FileProblem("file.xls_too_many_cells", cells=cells, limit=MAX_XLS_CELLS)
        datemode = book.datemode
        for rowx in range(ws.nrows):
            types, values = ws.row_types(rowx), ws.row_values(rowx)
            yield rowx + 1, [xls_cell_text(t, v, datemode) for t, v in zip(types, values, strict=True)]
    finally:
        book.release_resources()

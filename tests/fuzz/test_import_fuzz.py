"""Fuzzing the import file analyser (gatewayd/contacts/readers.py, analysis.py, rows.py, importer.py).

Properties: whatever bytes arrive as a CSV/TXT upload — random binary, text in UTF-8/UTF-8 BOM/
UTF-16/Windows-1252/Latin-1/Shift-JIS, any separator, quotes, ragged rows, NUL bytes, ZIP/XLS/PDF
magic — reading and analysing it never crashes: it gives rows and a report, or `FileProblem`
(readers) / `InvalidInput` on field "file" (service) whose message names the problem. A clean
export in a supported encoding and separator reads back cell for cell. The service-level test
runs the real ImportService over a real SQLite file and checks that analysis writes no contact.
Budgets: tests/fuzz/profiles.py.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts import analysis as an
from gatewayd.contacts import readers
from gatewayd.contacts import rows as rowkit
from gatewayd.contacts.importer import ImportService
from gatewayd.errors import InvalidInput
from gatewayd.store import contacts as contact_store
from gatewayd.store.db import Database

from .profiles import budget

REGION = "FR"
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "cp1252", "latin-1", "shift_jis", "mac_roman"]
SEPARATORS = [";", ",", "\t", "|", " ", ":", "\x00"]
MAGIC = [b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"]

cell = st.one_of(
    st.sampled_from(["06 12 34 56 78", "+33612345678", "612345679", "6,1234568E+08", "0033612345678", "12345",
                     "Dupont", "Hélène", "j@example.fr", "FR", "", " ", '"', '""', "a;b", "x,y", "l1\nl2", "€"]),
    st.text(max_size=20),
)
rows_ = st.lists(st.lists(cell, max_size=8), max_size=25)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("import-fuzz")


def _problem_named(message: str) -> None:
    """A FileProblem/InvalidInput message says what is wrong in words, not as a bare Python repr."""
    assert len(message) >= 10 and message.strip() == message and "Traceback" not in message, message


def _analyse_file(path: Path) -> dict[str, object] | None:
    """What step 1 does with an upload, minus the database: read, detect header, map, classify."""
    try:
        kind = readers.sniff_kind(path)
        if kind == "xlsx":
            readers.xlsx_sheets(path)
            rows = readers.iter_xlsx_rows(path, None)
        else:
            rows = readers.iter_text_rows(path, readers.text_format(path))
        head = rowkit.take(rows, 50)
        head = [(line, cells) for line, cells in head if any(c.strip() for c in cells)] or head
        if not head:
            return None
        width = max(rowkit.width(cells) for _, cells in head)
        if an.looks_like_header(head[0][1], REGION):
            proposal = an.propose_mapping([c.strip() for c in head[0][1][:width]] + [""] * (width - len(head[0][1])),
                                          [])
        else:
            proposal = an.Proposal(rowkit.guess_mobile_column(head, width, REGION), ())
        if an.validate_mapping(proposal.mapping, width):
            return None
        analyzer = an.Analyzer(proposal.mapping, REGION)
        for line, cells in [*head, *rows]:
            number = analyzer.feed(line, cells)
            if number is not None:
                assert number.startswith("+") and number[1:].isdigit()
                an.row_values(proposal.mapping, cells)
        report = analyzer.report()
        assert report["rows"] == analyzer.valid + analyzer.invalid + analyzer.duplicates
        return report
    except readers.FileProblem as exc:
        _problem_named(str(exc))
        assert not str(exc).startswith("line 0:"), str(exc)
        return None


@budget()
@given(st.sampled_from(MAGIC), st.binary(max_size=600))
@example(b"", b"\xff\xfe" + "Nom;Tél\r\n".encode("utf-16-le") + b"\x00")  # odd UTF-16 length
@example(b"", b"Nom;T\xe9l\r\n\x81\x8d;0612345678\r\n")  # cp1252 holes (0x81, 0x8D are undefined)
@example(b"", b"tel\n" + b"\xc3" * 5)  # truncated UTF-8 past the sample cut
@example(b"\xef\xbb\xbf", b"tel\n\x80")  # found: one-column file, BOM, bad byte -> UnicodeDecodeError escaped
@example(b"\xef\xbb\xbf", b"\xc2")  # found: a character cut by the end of the file was reported at line 0
def test_arbitrary_bytes_read_or_file_problem(workdir: Path, magic: bytes, data: bytes) -> None:
    path = workdir / "upload.csv"
    path.write_bytes(magic + data)
    _analyse_file(path)


@budget()
@given(rows_, st.sampled_from(ENCODINGS), st.sampled_from(SEPARATORS), st.sampled_from(["\r\n", "\n", "\r"]),
       st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE]))
@example([["Nom", "Mobile"], ["Dupont", "06 12 34 56 78"]], "utf-16", ";", "\r\n", csv.QUOTE_MINIMAL)
def test_any_csv_in_any_encoding_never_crashes(workdir: Path, rows: list[list[str]], encoding: str, sep: str,
                                               eol: str, quoting: int) -> None:
    out = io.StringIO()
    try:
        csv.writer(out, delimiter=sep, lineterminator=eol, quoting=quoting, escapechar="\\").writerows(rows)
    except csv.Error:
        return  # csv itself refuses this combination (no file to analyse)
    path = workdir / "typed.csv"
    path.write_bytes(out.getvalue().encode(encoding, errors="replace"))
    _analyse_file(path)


def _workbook_parts() -> dict[str, bytes]:
    """The parts of a small real workbook (shared strings, numbers, two sheets)."""
    wb = openpyxl.Workbook()
    wb.active.append(["Nom", "Mobile", "Ville"])
    for i in range(40):
        wb.active.append([f"Client {i}", 612345600 + i, "Lyon"])
    wb.create_sheet("Autre").append(["0611111111"])
    buf = io.BytesIO()
    wb.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


WORKBOOK = _workbook_parts()


@budget(0.5)
@given(st.sampled_from(sorted(WORKBOOK)), st.data())
@example("xl/worksheets/sheet1.xml", None)  # found: a sheet cut mid-way escaped as ParseError
def test_a_workbook_damaged_inside_reads_or_is_refused(workdir: Path, part: str, data: st.DataObject | None) -> None:
    """A sound archive whose one part is cut, spliced or overwritten (what a bad transfer or a
    half-written file does): rows, or a FileProblem naming it, never another exception."""
    original = WORKBOOK[part]
    if data is None:
        damaged = original[:len(original) // 2]
    else:
        cut = data.draw(st.integers(0, len(original)), label="cut")
        damaged = original[:cut] + data.draw(st.binary(max_size=40), label="noise") + \
            original[cut + data.draw(st.integers(0, 200), label="removed"):]
    path = workdir / "damaged.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in WORKBOOK.items():
            zf.writestr(name, damaged if name == part else content)
    _analyse_file(path)


plain_cell = st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzéèàçÉ0123456789+ -'@."), min_size=1,
                     max_size=12).map(str.strip).filter(bool)


@budget(0.5)
@given(st.integers(2, 6).flatmap(lambda n: st.lists(st.lists(plain_cell, min_size=n, max_size=n), min_size=2,
                                                     max_size=20)),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]), st.sampled_from([";", ",", "\t", "|"]),
       st.sampled_from(["\r\n", "\n"]))
def test_a_clean_export_reads_back_cell_for_cell(workdir: Path, rows: list[list[str]], encoding: str, sep: str,
                                                 eol: str) -> None:
    path = workdir / "clean.csv"
    path.write_bytes("".join(sep.join(r) + eol for r in rows).encode(encoding))
    fmt = readers.text_format(path)
    assert fmt.separator == sep, (fmt, rows[:2])
    assert [cells for _, cells in readers.iter_text_rows(path, fmt)] == rows


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 97):
        yield data[i:i + 97]


async def _through_the_service(workdir: Path, data: bytes, name: str) -> None:
    settings = Settings(storage={"database": str(workdir / "gatewayd.db")}, http={"host": "127.0.0.1"},
                        imports={"directory": str(workdir / "imports")})
    db = Database(settings.storage.database)
    await db.open()
    try:
        service = ImportService(db, settings, FakeClock())
        try:
            row = await service.save_upload(_chunks(data), filename=name, purpose="contacts", created_by="fuzz")
            report = await service.analyse(row.id)
        except InvalidInput as exc:
            assert exc.errors and exc.errors[0].field in ("file", "sheet"), exc.errors
            _problem_named(exc.detail)
            return
        assert set(report) >= {"columns", "mapping", "headers"}
        assert await contact_store.count(db) == 0  # step 1 writes no contact
    finally:
        await db.close()


@budget(0.15)
@given(st.one_of(st.binary(max_size=400),
                 rows_.map(lambda rows: "\r\n".join(";".join(r) for r in rows).encode("cp1252", errors="replace"))),
       st.sampled_from(["contacts.csv", "liste.txt", "book.xlsx"]))
@example(b"\x00\x01binary", "contacts.csv")
@example(b"PK\x03\x04broken zip", "book.xlsx")
@example(b"\xef\xbb\xbf0612345678\n\x80", "liste.txt")  # was a 500: UnicodeDecodeError out of analyse()
def test_the_import_service_answers_invalid_input_or_a_report(workdir: Path, data: bytes, name: str) -> None:
    asyncio.run(_through_the_service(workdir, data, name))

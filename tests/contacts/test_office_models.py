"""smsmode's two import models as office workers save them, made here in .xls, .xlsx and CSV: a title
and a blank row above the header, numbers stored as floats, accents, French dates, 20 columns."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
import xlwt

from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.importer import Certification, CommitOptions, ImportService
from gatewayd.store import contacts as contact_store
from gatewayd.store.db import Database

CERT = Certification("Adhérents ayant accepté les SMS (bulletin d'adhésion 2027).", "alice")
TITLE = "Liste des adhérents — saison 2027"
HEADERS_20 = ["Mobile", "Nom", "Prénom", "E-mail", "Langue", "Date RDV", "Ville", "Code postal", "Société",
              "Civilité", "Adresse", "Date de naissance", "Fidélité", "Magasin", "Vendeur", "Canal", "Remarque",
              "Référence", "Agence", "Catégorie"]
RDV = datetime(2027, 1, 12, 14, 30)


def model_2_rows(numbers_as: str) -> list[list[object]]:
    """Title, blank, header, then data: `numbers_as` 'float' (spreadsheets) or 'text' (a CSV export)."""
    def num(value: float, shown: str) -> object:
        return value if numbers_as == "float" else shown

    def rest(i: int) -> list[object]:
        return [f"Société {i}", "Mme", f"{i} rue de l'Église", "03/04/1980", num(3.0, "3"), "Vieux-Port", "Zoé",
                "SMS", "", f"REF-{i:03d}", "Sud", "Or"]

    return [
        [TITLE], [],
        HEADERS_20,
        [num(612345678.0, "612345678"), "Dupont", "Hélène", "helene@example.fr", "Français", RDV, "Marseille",
         num(13001.0, "13001"), *rest(1)],
        [num(33612345679.0, "33612345679"), "Lefèvre", "François", "", "FR", "13/01/2027 09h00", "Aix",
         num(13100.0, "13100"), *rest(2)],
        ["06 12 34 56 80", "Müller", "Jürgen", "j@example.de", "EN", "14/01/2027", "Nice",
         num(6000.0, "06000"), *rest(3)],
        [num(12345.0, "12345"), "Roux", "Noël", "", "", "", "Lille", "", *rest(4)],
        ["0612345678", "Petit", "Léa", "", "", "", "Lyon", "", *rest(5)],
    ]


def model_1_rows() -> list[list[object]]:
    """One column of numbers under a title, no header: the numbers-only model."""
    return [["Numéros clients — relance janvier"], [612345678.0], [612345679.0], ["07 98 76 54 32"], [612345678.0]]


def as_xls(rows: list[list[object]], path: Path) -> Path:
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Adhérents")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY HH:MM")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write(r, c, value, date_style)
            elif value != "":
                sheet.write(r, c, value)
    book.save(str(path))
    return path


def as_xlsx(rows: list[list[object]], path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append([None if v == "" else v for v in row] or [None])
    wb.save(path)
    return path


def as_csv(rows: list[list[object]], path: Path) -> Path:
    """What French Excel writes: Windows-1252, ';', dates as shown, floats as digits."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow([v.strftime("%d/%m/%Y %H:%M") if isinstance(v, datetime) else
                         (f"{v:.0f}" if isinstance(v, float) else v) for v in row])
    path.write_bytes(buf.getvalue().encode("cp1252", errors="replace"))
    return path


WRITERS: dict[str, Callable[[list[list[object]], Path], Path]] = {"xls": as_xls, "xlsx": as_xlsx, "csv": as_csv}


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for i in range(0, len(data), 4096):
        yield data[i:i + 4096]


@pytest.fixture
def service(db: Database, csettings: Settings, clock: FakeClock) -> ImportService:
    return ImportService(db, csettings, clock)


async def _upload(service: ImportService, path: Path) -> int:
    row = await service.save_upload(_chunks(path.read_bytes()), filename=path.name, purpose="contacts",
                                    created_by="alice")
    return row.id


@pytest.mark.parametrize("fmt", ["xls", "xlsx", "csv"])
async def test_model_2_with_a_title_row_floats_and_twenty_columns(fmt: str, service: ImportService, db: Database,
                                                                   tmp_path: Path) -> None:
    path = WRITERS[fmt](model_2_rows("float" if fmt != "csv" else "text"), tmp_path / f"adherents.{fmt}")
    import_id = await _upload(service, path)
    report = await service.analyse(import_id)
    assert report["format"] == fmt
    assert report["header_line"] == 3 and report["skipped_lines"] == [1]
    assert report["columns"] == 20
    assert report["mapping"][:5] == ["mobile", "last_name", "first_name", "email", "language"]
    assert report["mapping"][5:8] == ["field:date_rdv", "field:ville", "field:code_postal"]
    assert report["valid"] == 3 and report["rows"] == 5
    assert [e["line"] for e in report["invalid"]["lines"]] == [7]
    assert report["duplicates_in_file"]["lines"] == [{"line": 8, "number": "+33612345678", "first_line": 4}]
    repairs = {e["line"]: e["repair"] for e in report["repaired"]["lines"]}
    assert repairs == {4: "leading 0 restored", 5: "'+' added before the country code"}

    result = await service.commit(import_id, CommitOptions(CERT))
    assert result["created"] == 3
    by_number = {c.mobile: c for c in await contact_store.search(db, limit=10)}
    helene = by_number["+33612345678"]
    assert (helene.last_name, helene.first_name, helene.language) == ("Dupont", "Hélène", "fr")
    assert helene.fields["code_postal"] == "13001"  # a float cell shown as Excel shows it
    assert helene.fields["adresse"] == "1 rue de l'Église"
    assert helene.fields["date_rdv"] in ("2027-01-12 14:30:00", "12/01/2027 14:30")
    assert by_number["+33612345679"].fields["date_rdv"] == "13/01/2027 09h00"
    assert by_number["+33612345680"].language == "en"
    async with db.read() as conn:
        assert len(await contact_store.field_names(conn)) == 15


@pytest.mark.parametrize("fmt", ["xls", "xlsx", "csv"])
async def test_model_1_numbers_alone_under_a_title(fmt: str, service: ImportService, tmp_path: Path) -> None:
    path = WRITERS[fmt](model_1_rows(), tmp_path / f"numeros.{fmt}")
    report = await service.analyse(await _upload(service, path))
    assert report["mapping"] == ["mobile"]
    assert report["valid"] == 3 and report["duplicates_in_file"]["count"] == 1 and report["invalid"]["count"] == 0


async def test_header_line_chosen_by_the_user(service: ImportService, tmp_path: Path) -> None:
    path = as_csv(model_2_rows("text"), tmp_path / "adherents.csv")
    import_id = await _upload(service, path)
    auto = await service.analyse(import_id)
    assert [r["line"] for r in auto["first_rows"]][:3] == [1, 3, 4]
    # The user says there is no header: every line is data, roles come from the cells.
    none = await service.analyse(import_id, header_line=0)
    assert none["header_line"] is None and none["mapping"][0] == "mobile"
    assert none["invalid"]["count"] == 3  # the title, the header and 12345
    chosen = await service.analyse(import_id, header_line=3)
    assert chosen["mapping"] == auto["mapping"]
    with pytest.raises(Exception, match="line 2 is empty"):
        await service.analyse(import_id, header_line=2)


async def test_headerless_columns_get_roles_from_their_cells(service: ImportService, db: Database,
                                                             tmp_path: Path) -> None:
    lines = ["DUPONT;Hélène;06 12 34 56 78;helene@example.fr;fr;12/01/2027 14h30;13001",
             "MARTIN;Zoé;0798765432;zoe@example.fr;en;13/01/2027;13100",
             "ROUX;Noël;0612345679;;fr;46399,6041667;06000"]
    path = tmp_path / "sans-entete.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    report = await service.analyse(await _upload(service, path))
    assert report["header_line"] is None
    assert report["mapping"] == ["last_name", "first_name", "mobile", "email", "language", "field:date", "ignore"]
    assert report["valid"] == 3


async def test_migration_keeps_imports_and_lets_them_be_xls(tmp_path: Path) -> None:
    """The imports table is rebuilt to accept 'xls': rows uploaded before the upgrade stay."""
    import aiosqlite

    from gatewayd.store.migrations import available, migrate

    before = next(m.version for m in available() if m.name.endswith("_imports_xls.sql")) - 1
    path = tmp_path / "old.db"
    async with aiosqlite.connect(path, isolation_level=None) as conn:
        await migrate(conn, target=before)
        await conn.execute("INSERT INTO imports (purpose, filename, path, size, format, state, created_at)"
                           " VALUES ('contacts', 'clients.xlsx', '/x', 10, 'xlsx', 'uploaded', '2026-01-01T00:00:00Z')")
        with pytest.raises(Exception, match="CHECK"):
            await conn.execute("INSERT INTO imports (purpose, filename, path, size, format, state, created_at)"
                               " VALUES ('contacts', 'a.xls', '/y', 10, 'xls', 'uploaded', '2026-01-01T00:00:00Z')")
        await migrate(conn)
        await conn.execute("INSERT INTO imports (purpose, filename, path, size, format, state, created_at)"
                           " VALUES ('contacts', 'a.xls', '/y', 10, 'xls', 'uploaded', '2026-01-01T00:00:00Z')")
        async with conn.execute("SELECT id, filename, format FROM imports ORDER BY id") as cur:
            assert [tuple(r) for r in await cur.fetchall()] == [(1, "clients.xlsx", "xlsx"), (2, "a.xls", "xls")]

"""Imports on real-world files made here: French Excel CSV exports, BOMs, XLSX with numeric cells, broken files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from gatewayd.clock import FakeClock
from gatewayd.config import Settings
from gatewayd.contacts.importer import Certification, CommitOptions, ImportService
from gatewayd.errors import Conflict, InvalidInput, PayloadTooLarge
from gatewayd.store import contacts as contact_store
from gatewayd.store import optouts
from gatewayd.store.db import Database

CERT = Certification("Ces personnes ont accepté de recevoir nos SMS (formulaire magasin 2025).", "alice")


async def _chunks(data: bytes, size: int = 7) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i:i + size]


@pytest.fixture
def service(db: Database, csettings: Settings, clock: FakeClock) -> ImportService:
    return ImportService(db, csettings, clock)


async def upload(service: ImportService, data: bytes, name: str = "contacts.csv", purpose: str = "contacts") -> int:
    row = await service.save_upload(_chunks(data, 4096), filename=name, purpose=purpose, created_by="alice")
    return row.id


FRENCH_EXCEL = (
    "Nom;Prénom;Téléphone portable;Email;Langue;Ville;\r\n"
    "Dupont;Hélène;06 12 34 56 78;helene@example.fr;Français;Marseille;\r\n"
    "Lefèvre;François;612345679;;FR;Aix;\r\n"                       # leading 0 lost by Excel
    ";;;;;;\r\n"                                                     # empty row
    "Müller;Jürgen;33612345680;j@example.de;EN;Nice;\r\n"            # country code without +
    "Martin;Zoé;6,1234568E+08;;;Paris;\r\n"                          # scientific notation, digits lost
    "Bernard;Chloé;+33 6 12 34 56 81;;en;\"Saint-\r\nÉtienne\";\r\n" # quoted newline
    "Petit;Léa;0612345678;;;Lyon;\r\n"                               # duplicate of line 2
    "Roux;Noël;12345;;;Lille;\r\n"                                   # invalid
).encode("cp1252")


async def test_french_excel_export_windows_1252(service: ImportService, db: Database) -> None:
    import_id = await upload(service, FRENCH_EXCEL)
    report = await service.analyse(import_id)
    assert report["encoding"] == "Windows-1252"
    assert report["separator"] == ";"
    assert report["header_line"] == 1
    assert report["headers"][:3] == ["Nom", "Prénom", "Téléphone portable"]
    assert report["mapping"] == ["last_name", "first_name", "mobile", "email", "language", "field:ville"]
    assert report["rows"] == 7 and report["empty_rows"] == 1
    assert report["valid"] == 4
    invalid = {e["line"]: e["reason"] for e in report["invalid"]["lines"]}
    assert set(invalid) == {6, 10}
    assert "lost digits" in invalid[6]
    assert report["duplicates_in_file"]["lines"] == [{"line": 9, "number": "+33612345678", "first_line": 2}]
    repairs = {e["line"]: e["repair"] for e in report["repaired"]["lines"]}
    assert repairs == {3: "leading 0 restored", 5: "'+' added before the country code"}
    # Nothing written by the analysis.
    assert await contact_store.count(db) == 0

    result = await service.commit(import_id, CommitOptions(CERT, new_groups=("Clients Marseille",)))
    assert result["created"] == 4
    page = await contact_store.search(db, limit=10)
    by_number = {c.mobile: c for c in page}
    helene = by_number["+33612345678"]
    assert (helene.last_name, helene.first_name, helene.language) == ("Dupont", "Hélène", "fr")
    assert helene.fields == {"ville": "Marseille"}
    assert helene.optin_statement == CERT.statement and helene.optin_by == "alice"
    assert by_number["+33612345681"].fields == {"ville": "Saint-\r\nÉtienne"}
    assert by_number["+33612345680"].language == "en"
    assert all(c.groups == (result["groups"][0],) for c in page)
    with pytest.raises(Conflict):
        await service.commit(import_id, CommitOptions(CERT))


async def test_utf8_bom_comma_and_opted_out_never_resubscribed(service: ImportService, db: Database,
                                                               clock: FakeClock) -> None:
    async with db.write() as conn:
        await optouts.record(conn, number="+33611111112", action="out", source="sms", now=clock.now())
    data = "\ufeffFirst name,Last name,Phone\n Ann ,Smith,+33611111111\nBob,Jones,+33611111112\n".encode()
    import_id = await upload(service, data)
    report = await service.analyse(import_id)
    assert report["encoding"] == "UTF-8 (BOM)" and report["separator"] == ","
    assert report["headers"] == ["First name", "Last name", "Phone"]
    assert report["opted_out"]["count"] == 1
    result = await service.commit(import_id, CommitOptions(CERT))
    assert result["created"] == 1 and result["skipped_opted_out"] == 1
    async with db.read() as conn:
        assert await optouts.is_opted_out(conn, "+33611111112")
        assert (await contact_store.by_mobile(conn, "+33611111111")).first_name == "Ann"  # type: ignore[union-attr]


async def test_update_or_skip_existing(service: ImportService, db: Database) -> None:
    first = await upload(service, b"Mobile;Nom;Prenom\n0611111111;Old;Anne\n")
    await service.analyse(first)
    await service.commit(first, CommitOptions(CERT))
    again = await upload(service, b"Mobile;Nom;Prenom\n0611111111;New;\n0611111112;Other;Bob\n")
    report = await service.analyse(again)
    assert report["already_in_base"] == 1
    result = await service.commit(again, CommitOptions(CERT, update_existing=False))
    assert (result["created"], result["updated"], result["skipped_existing"]) == (1, 0, 1)
    async with db.read() as conn:
        assert (await contact_store.by_mobile(conn, "+33611111111")).last_name == "Old"  # type: ignore[union-attr]
    third = await upload(service, b"Mobile;Nom;Prenom\n0611111111;New;\n")
    await service.analyse(third)
    result = await service.commit(third, CommitOptions(CERT))
    assert result["updated"] == 1
    async with db.read() as conn:
        c = await contact_store.by_mobile(conn, "+33611111111")
    assert c is not None and (c.last_name, c.first_name) == ("New", "Anne")  # an empty cell erases nothing


async def test_xlsx_numeric_phone_cells_formulas_merged(service: ImportService, db: Database, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Nom", "Prénom", "Portable", "Code postal"])
    ws.append(["Durand", "Paul", 612345678, 13001])         # numeric cell: leading 0 gone
    ws.append(["Moreau", "Lucie", 601010101.0, "=A3"])      # float cell, a formula without cached value
    ws.append([None, None, None, None])                     # empty row
    ws.append(["Garnier", "Marc", "06.12.34.56.99", 75001])
    ws.merge_cells("A6:B6")
    ws["A6"] = "Fusion"
    ws["C6"] = 33612345000
    path = tmp_path / "export.xlsx"
    wb.save(path)
    import_id = await upload(service, path.read_bytes(), "export.xlsx")
    report = await service.analyse(import_id)
    assert report["format"] == "xlsx" and report["sheet"] == "Sheet"
    assert report["mapping"] == ["last_name", "first_name", "mobile", "field:code_postal"]
    assert report["valid"] == 4 and report["invalid"]["count"] == 0
    assert report["repaired"]["count"] == 3
    result = await service.commit(import_id, CommitOptions(CERT))
    assert result["created"] == 4
    async with db.read() as conn:
        paul = await contact_store.by_mobile(conn, "+33612345678")
        merged = await contact_store.by_mobile(conn, "+33612345000")
    assert paul is not None and paul.fields == {"code_postal": "13001"}
    assert merged is not None and merged.last_name == "Fusion"


async def test_xlsx_more_sheets_than_allowed(service: ImportService, tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["Mobile"])
    wb.create_sheet("Autre").append(["0611111111"])
    path = tmp_path / "two.xlsx"
    wb.save(path)
    import_id = await upload(service, path.read_bytes(), "two.xlsx")
    with pytest.raises(InvalidInput, match="2 sheets"):
        await service.analyse(import_id)
    report = await service.analyse(import_id, sheet="Autre")
    assert report["valid"] == 1 and report["header_line"] is None


async def test_broken_files_are_refused_clearly(service: ImportService) -> None:
    with pytest.raises(InvalidInput, match="xls"):
        await upload(service, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls")
    with pytest.raises(InvalidInput, match="damaged"):
        await upload(service, b"PK\x03\x04garbage", "broken.xlsx")
    with pytest.raises(InvalidInput, match="empty"):
        await upload(service, b"", "empty.csv")
    import_id = await upload(service, b"\n\n  \n", "blank.csv")
    with pytest.raises(InvalidInput, match="empty|no rows"):
        await service.analyse(import_id)


def ole2_with_streams(*names: str) -> bytes:
    """An OLE2 compound file's opening: its signature, a header sector, then the directory sector
    whose 128-byte entries start with the stream names in UTF-16 (how Excel lays out .xls files and
    password-protected .xlsx files alike)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    entries = b"".join(name.encode("utf-16-le").ljust(128, b"\x00") for name in ("Root Entry", *names))
    return header + entries.ljust(512, b"\x00") + b"\x00" * 4096


def workbook_with_damaged_sheet(rows: int) -> bytes:
    """A real workbook whose sheet XML was cut in half (a file truncated by a mail gateway or a USB
    key pulled out): the archive and its index are fine, the damage shows while rows stream."""
    wb = openpyxl.Workbook()
    wb.active.append(["Nom", "Mobile"])
    for i in range(rows):
        wb.active.append([f"Client {i}", f"06123{i:05d}"])
    good = io.BytesIO()
    wb.save(good)
    out = io.BytesIO()
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            zout.writestr(item, data[:len(data) // 2] if item.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def ole2_with_directory_far_in(*names: str, at_sector: int) -> bytes:
    """An OLE2 file whose directory sits past the first 64 KB (a big encrypted workbook): the
    header's sector shift (9: 512-byte sectors) and first directory sector say where."""
    header = bytearray(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    header[30:32] = (9).to_bytes(2, "little")
    header[48:52] = at_sector.to_bytes(4, "little")
    body = bytearray(b"\x01" * (at_sector * 512))  # sectors of (encrypted) data before the directory
    entries = b"".join(name.encode("utf-16-le").ljust(128, b"\x00") for name in ("Root Entry", *names))
    return bytes(header + body + entries.ljust(512, b"\x00"))


async def test_password_protected_workbook_is_named_as_such(service: ImportService) -> None:
    with pytest.raises(InvalidInput, match="protected by a password"):
        await upload(service, ole2_with_streams("EncryptionInfo", "EncryptedPackage"), "clients.xlsx")
    with pytest.raises(InvalidInput, match="protected by a password"):
        await upload(service, ole2_with_directory_far_in("EncryptionInfo", "EncryptedPackage", at_sector=400),
                     "gros-fichier.xlsx")
    with pytest.raises(InvalidInput, match=r"97-2003 document but not an Excel workbook \(\.xls\)"):
        await upload(service, ole2_with_streams("WordDocument", "SummaryInformation"), "lettre.xls")
    # An OLE2 file naming a Workbook stream is taken for an .xls; a fake one is named as damaged.
    import_id = await upload(service, ole2_with_streams("Workbook", "SummaryInformation"), "clients.xls")
    with pytest.raises(InvalidInput, match=r"\.xls workbook is damaged"):
        await service.analyse(import_id)


async def test_workbook_damaged_inside_a_sheet_names_the_row(service: ImportService, db: Database) -> None:
    import_id = await upload(service, workbook_with_damaged_sheet(3000), "clients.xlsx")
    with pytest.raises(InvalidInput, match=r"damaged after row \d+: open it in Excel") as caught:
        await service.analyse(import_id)
    row = int(str(caught.value).split("after row ")[1].split(":")[0])
    assert 1000 < row < 3001  # about half the rows were read before the cut
    assert not service.spool_path(import_id).exists()
    assert await contact_store.count(db) == 0


async def test_quote_never_closed_is_named(service: ImportService) -> None:
    data = b'Nom;Mobile\nDupont;0611111111\n"Martin;0611111112\n' + b"Client;0611111113\n" * 80_000
    import_id = await upload(service, data)
    with pytest.raises(InvalidInput, match=r"line \d+: a cell holds more than 1048576 characters \(a quote opened"):
        await service.analyse(import_id)


async def test_size_limit(db: Database, tmp_path: Path, clock: FakeClock) -> None:
    settings = Settings(storage={"database": str(tmp_path / "gatewayd.db")}, imports={"max_bytes": 2048})
    service = ImportService(db, settings, clock)
    with pytest.raises(PayloadTooLarge, match="2048"):
        await upload(service, b"0611111111\n" * 300)
    assert not [p for p in service.directory.iterdir() if p.name.startswith(".upload")]


async def test_txt_one_number_per_line_and_huge_row(service: ImportService) -> None:
    data = b"0611111111\n0611111112\r\n\n+44 7911 123456\n" + b"x" * 300_000 + b"\n"
    import_id = await upload(service, data, "numbers.txt")
    report = await service.analyse(import_id)
    assert report["format"] == "txt" and report["separator"] is None
    assert report["mapping"] == ["mobile"]
    assert report["valid"] == 3 and report["invalid"]["count"] == 1
    assert report["invalid"]["lines"][0]["line"] == 5


async def test_commit_requires_certification_and_valid_mapping(service: ImportService) -> None:
    import_id = await upload(service, b"Nom;Mobile\nA;0611111111\n")
    await service.analyse(import_id)
    with pytest.raises(InvalidInput, match="statement"):
        await service.commit(import_id, CommitOptions(Certification("  ", "bob")))
    with pytest.raises(InvalidInput, match="mobile"):
        await service.commit(import_id, CommitOptions(CERT, mapping=("last_name", "first_name")))


async def test_accents_only_past_the_sample_still_pick_the_right_encoding(service: ImportService) -> None:
    ascii_rows = "".join(f"Nom{i};06{10000000 + i:08d}\n" for i in range(3000)).encode()   # > 64 KB
    late = "Lefèvre;0699999999\n"
    for encoding, label in (("utf-8", "UTF-8"), ("cp1252", "Windows-1252")):
        import_id = await upload(service, b"Nom;Mobile\n" + ascii_rows + late.encode(encoding))
        report = await service.analyse(import_id)
        assert report["encoding"] == label and report["valid"] == 3001


async def test_bytes_valid_in_no_supported_encoding_name_the_line(service: ImportService) -> None:
    import_id = await upload(service, b"Nom;Mobile\nA;0611111111\nB\x81;0611111112\n")
    with pytest.raises(InvalidInput, match="line 3.*Windows-1252"):
        await service.analyse(import_id)

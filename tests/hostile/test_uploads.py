"""Attacks 2 and 3 of issue 14 in-process: workbooks past the memory limits are refused naming the
limit; uploads expire, can be deleted, and count against a per-user quota."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock
from gatewayd.contacts.xlsx_limits import XlsxLimits, XlsxTooBig, check_workbook

from tests.console.conftest import Console

CSV = "mobile;name\n" + "".join(f"06{n:08d};Person {n}\n" for n in range(12345600, 12345660))


def workbook(shared: int = 1, rows: int = 2, column: str = "A") -> bytes:
    """A minimal .xlsx: `shared` shared strings, `rows` rows whose one cell sits in `column`."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml",
                    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                    '<Default Extension="xml" ContentType="application/xml"/>'
                    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                    'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                    '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                    'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
        zf.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                    'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        zf.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
                    'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships"><sheets><sheet name="Feuil1" sheetId="1" r:id="rId1"/></sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                    'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                    'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
        with zf.open("xl/sharedStrings.xml", "w") as fh:
            fh.write(b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
            item = b"<si><t>x</t></si>"
            left = shared
            while left:
                n = min(left, 100_000)
                fh.write(item * n)
                left -= n
            fh.write(b"</sst>")
        cells = "".join(f'<row r="{r}"><c r="{column}{r}" t="s"><v>0</v></c></row>' for r in range(1, rows + 1))
        zf.writestr("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet xmlns="http://schemas.'
                    f'openxmlformats.org/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>')
    return out.getvalue()


def test_workbook_limits_name_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "book.xlsx"
    limits = XlsxLimits(max_cells=100, max_shared_strings=50, max_columns=20, max_unzipped_bytes=2_000_000)
    path.write_bytes(workbook(shared=10, rows=10))
    check_workbook(path, limits)  # within every limit
    cases = [(workbook(shared=51), "imports.xlsx_max_shared_strings"),
             (workbook(rows=2, column="XFD"), "imports.xlsx_max_columns"),
             (workbook(rows=101), "imports.xlsx_max_cells"),
             (workbook(shared=200_000), "imports.xlsx_max_unzipped_bytes")]
    for data, setting in cases:
        path.write_bytes(data)
        with pytest.raises(XlsxTooBig, match=setting.replace(".", r"\.")):
            check_workbook(path, limits)


async def _upload(console: Console, token: str, data: bytes, name: str) -> tuple[int, dict]:
    resp = await console.client.post(f"/api/v1/imports?filename={name}", data=data,
                                     headers={"Authorization": f"Bearer {token}"})
    return resp.status, await resp.json()


async def _token(console: Console, name: str) -> str:
    return (await create_key(console.app[keys.DB], SystemClock(), name, {"send", "read"})).token


async def test_a_wide_workbook_is_refused_naming_the_limit(console_factory) -> None:  # type: ignore[no-untyped-def]
    console = await console_factory(imports={"xlsx_max_columns": 50})
    token = await _token(console, "shop")
    status, row = await _upload(console, token, workbook(rows=3, column="ZZ"), "wide.xlsx")
    assert status == 201, row
    resp = await console.client.post(f"/api/v1/imports/{row['id']}/analyse",
                                     headers={"Authorization": f"Bearer {token}"})
    assert resp.status == 422
    assert "imports.xlsx_max_columns" in (await resp.json())["detail"]


async def test_uploads_can_be_deleted_and_expire(console_factory) -> None:  # type: ignore[no-untyped-def]
    console = await console_factory(imports={"expire_hours": 24})
    token = await _token(console, "shop")
    auth = {"Authorization": f"Bearer {token}"}
    kept, doomed, deleted, used = [(await _upload(console, token, CSV.encode(), f"{n}.csv"))[1]
                                   for n in ("kept", "doomed", "deleted", "used")]
    service = console.app[keys.IMPORTS]
    paths = {r["id"]: Path((await service.get(r["id"])).path) for r in (kept, doomed, deleted, used)}
    assert all(p.exists() for p in paths.values())

    resp = await console.client.delete(f"/api/v1/imports/{deleted['id']}", headers=auth)
    assert resp.status == 204
    assert not paths[deleted["id"]].exists()
    assert (await console.client.get(f"/api/v1/imports/{deleted['id']}", headers=auth)).status == 404

    # A draft campaign reading an upload keeps it past the expiry.
    resp = await console.client.post(f"/api/v1/imports/{used['id']}/analyse", headers=auth)
    assert resp.status == 200, await resp.text()
    resp = await console.client.post("/api/v1/templates", json={"title": "t", "text": "Bonjour"}, headers=auth)
    template = (await resp.json())["id"]
    resp = await console.client.post("/api/v1/campaigns", headers=auth, json={
        "name": "Soldes", "category": "transactional", "templates": {"default": template},
        "audience": {"file": used["id"]}})
    assert resp.status == 201, await resp.text()
    assert (await console.client.delete(f"/api/v1/imports/{used['id']}", headers=auth)).status == 409

    console.clock.advance(12 * 3600)
    assert await service.purge_expired() == 0
    console.clock.advance(13 * 3600)
    assert await service.purge_expired() == 2  # kept and doomed: 25 h old, never imported
    assert not paths[doomed["id"]].exists() and not paths[kept["id"]].exists()
    assert paths[used["id"]].exists()
    assert (await console.client.get(f"/api/v1/imports/{doomed['id']}", headers=auth)).status == 404
    assert "imports-expiry" in console.app[keys.SCHEDULER].jobs()


async def test_uploads_waiting_count_against_a_quota_per_user(console_factory) -> None:  # type: ignore[no-untyped-def]
    size = len(CSV.encode())
    console = await console_factory(imports={"per_user_bytes": 2 * size + 100, "max_bytes": 1024 * 1024})
    shop, crm = await _token(console, "shop"), await _token(console, "crm")
    assert (await _upload(console, shop, CSV.encode(), "a.csv"))[0] == 201
    second = await _upload(console, shop, CSV.encode(), "b.csv")
    assert second[0] == 201
    status, problem = await _upload(console, shop, CSV.encode(), "c.csv")
    assert status == 413
    assert "imports.per_user_bytes" in problem["detail"]
    assert (await _upload(console, crm, CSV.encode(), "d.csv"))[0] == 201  # another key has its own share
    # Deleting frees the share.
    resp = await console.client.delete(f"/api/v1/imports/{second[1]['id']}",
                                       headers={"Authorization": f"Bearer {shop}"})
    assert resp.status == 204
    assert (await _upload(console, shop, CSV.encode(), "e.csv"))[0] == 201
    leftovers = list(Path(console.app[keys.IMPORTS].directory).glob(".upload-*"))
    assert leftovers == []  # a refused upload leaves nothing behind


async def test_an_operator_deletes_an_upload_from_the_console(admin: Console) -> None:
    token = await _token(admin, "shop")
    _, row = await _upload(admin, token, CSV.encode(), "list.csv")
    status, page = await admin.get("/imports")
    assert status == 200 and f"delete-import-{row['id']}" in page
    assert "24\u00a0h" in page  # the expiry is said
    status, _, resp = await admin.post(f"/imports/{row['id']}/delete")
    assert status == 303
    status, page = await admin.get("/imports")
    assert f"delete-import-{row['id']}" not in page

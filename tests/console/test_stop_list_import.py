"""A whole STOP list added at once, pasted or as a file, as an office user hands over the list of a
previous provider: every number opted out with its reason, pending marketing blocked, bad lines
named, nothing stored when the request is refused."""

from __future__ import annotations

import io

import openpyxl
from aiohttp import FormData

from gatewayd import keys
from gatewayd.outbound.model import Category, NewMessage
from gatewayd.store import optouts

from .conftest import Console, add_user

FR = {"Accept-Language": "fr"}


async def _post(admin: Console, *, note: str = "", numbers: str = "", file: tuple[str, bytes] | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
    await admin.get("/stop-list")
    form = FormData()
    for name, value in (("_csrf", admin.csrf), ("list_note", note), ("numbers", numbers)):
        form.add_field(name, value)
    if file:
        form.add_field("file", file[1], filename=file[0], content_type="application/octet-stream")
    else:
        form.add_field("file", b"", filename="", content_type="application/octet-stream")
    resp = await admin.client.post("/stop-list/import", data=form, headers=headers or FR)
    return resp.status, await resp.text()


async def _opted_out(admin: Console, *numbers: str) -> list[bool]:
    async with admin.app[keys.DB].read() as conn:
        return [await optouts.is_opted_out(conn, n) for n in numbers]


async def test_a_pasted_list_opts_everyone_out_and_blocks_their_pending_marketing(admin: Console) -> None:
    [pending] = await admin.app[keys.OUTBOUND].submit([NewMessage("+33698765432", "Promo", Category.MARKETING,
                                                                  source="console")])
    await admin.post("/stop-list", {"number": "0611111111"})  # already on the list
    status, body = await _post(admin, note="Liste STOP de l'ancien prestataire",
                               numbers="06 12 34 56 78\n+33 6 98 76 54 32\n0611111111\n0612345678\n<b>x</b>")
    assert status == 200, body
    assert "2 numéros ajoutés à la liste STOP." in body and "1 y était déjà." in body
    assert "1 numéro en double compté une fois." in body and "1 ligne n&#39;est pas un numéro" in body
    assert "ligne 5 « &lt;b&gt;x&lt;/b&gt; »" in body and "<b>x</b>" not in body
    assert await _opted_out(admin, "+33612345678", "+33698765432", "+33611111111") == [True, True, True]
    assert (await admin.app[keys.OUTBOUND].get(pending.id)).message.state == "blocked"
    events = await admin.app[keys.INBOUND].optouts.history(number="+33612345678")
    assert [(e.source, e.note, e.actor) for e in events] == [
        ("import", "Liste STOP de l'ancien prestataire", "console admin")]


async def test_a_workbook_with_a_header_is_read_column_and_all(admin: Console) -> None:
    wb = openpyxl.Workbook()
    wb.active.append(["Client", "Portable", "Date du STOP"])
    for i in range(1200):
        wb.active.append([f"Client {i}", f"06 20 {i // 100:02d} {i % 100:02d} 00", "2025-01-01"])
    buf = io.BytesIO()
    wb.save(buf)
    status, body = await _post(admin, note="Export de l'ancien outil", file=("stop.xlsx", buf.getvalue()))
    assert status == 200 and "1\u202f200 numéros ajoutés à la liste STOP." in body, body[-2000:]
    assert "y étai" not in body  # none was on it already: nothing to say
    assert await _opted_out(admin, "+33620000000", "+33620115000", "+33620119900") == [True, True, True]
    assert not list(admin.app[keys.IMPORTS].directory.glob(".upload-*"))  # the file is not kept


async def test_refusals_store_nothing(admin: Console) -> None:
    status, body = await _post(admin, numbers="0612345678")
    assert status == 422 and "indiquez la provenance de la liste" in body
    status, body = await _post(admin, note="x")
    assert status == 422 and "collez des numéros ou choisissez un fichier" in body
    status, body = await _post(admin, note="x", file=("stop.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 600))
    assert status == 422 and "97-2003" in body
    # Past the length a form field may hold, the list is refused whole, never cut short.
    long_list = "\n".join(f"06 12 {i // 10000:02d} {i // 100 % 100:02d} {i % 100:02d}" for i in range(15_000))
    status, body = await _post(admin, note="x", numbers=long_list)
    assert status == 422 and "plus de 200000 caractères" in body
    assert await _opted_out(admin, "+33612345678", "+33612000000") == [False, False]
    await add_user(admin, "val", "viewer")
    await admin.logout()
    await admin.login("val")
    status, _ = await _post(admin, note="x", numbers="0612345678")
    assert status == 403
    assert await _opted_out(admin, "+33612345678") == [False]

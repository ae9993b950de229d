"""Attack 7 of issue 14: formula injection through a separator the spreadsheet chose itself."""

from __future__ import annotations

import csv
import io

from gatewayd import keys
from gatewayd.accounts.apikeys import create_key
from gatewayd.clock import SystemClock

from tests.console.conftest import Console

HOSTILE = ["Merci,=cmd|' /C calc'!A0", "Jean;+HYPERLINK(\"http://x\")", 'Ok, "@SUM(A1)"', "x\t-2+3"]


def formula_cells(text: str, separator: str) -> list[str]:
    """Cells a spreadsheet reading `text` with `separator` would evaluate as formulas."""
    out = []
    for row in csv.reader(io.StringIO(text), delimiter=separator):
        for cell in row:
            if cell.lstrip(' "').startswith(("=", "+", "-", "@")):
                out.append(cell)
    return out


async def test_exports_hold_no_formula_whatever_separator_the_spreadsheet_uses(console: Console) -> None:
    token = (await create_key(console.app[keys.DB], SystemClock(), "crm", {"send", "read"})).token
    auth = {"Authorization": f"Bearer {token}"}
    for n, name in enumerate(HOSTILE):
        resp = await console.client.post("/api/v1/contacts", headers=auth,
                                         json={"mobile": f"+3361234567{n}", "last_name": name})
        assert resp.status == 201, await resp.text()
    for written in ("semicolon", "comma", "tab"):
        resp = await console.client.get(f"/api/v1/contacts/export?separator={written}", headers=auth)
        assert resp.status == 200
        text = (await resp.read()).decode("utf-8-sig")
        sep = {"semicolon": ";", "comma": ",", "tab": "\t"}[written]
        rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        assert len(rows) == 1 + len(HOSTILE) and all(len(r) == len(rows[0]) for r in rows)  # still one cell each
        for read_with in (";", ",", "\t"):
            assert formula_cells(text, read_with) == [], (written, read_with)

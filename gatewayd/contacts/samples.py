"""Sample import files to download and fill in, in the two layouts French SMS platforms document:
model 1, the numbers alone (one column); model 2, a number per line with the contact's details
and custom fields, one header row. Both import as they are (the tests say so)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

MODELS = (1, 2)
FORMATS = ("csv", "xlsx")

_MODEL_1 = (("Mobile",), ("06 12 34 56 78",), ("+33 7 98 76 54 32",), ("0612345679",))
_MODEL_2 = (
    ("Mobile", "Nom", "Prénom", "E-mail", "Langue", "Date RDV", "Ville"),
    ("06 12 34 56 78", "Dupont", "Hélène", "helene.dupont@example.fr", "fr", "12/01/2027 14h30", "Marseille"),
    ("07 98 76 54 32", "Martin", "Zoé", "", "fr", "13/01/2027 09h00", "Aix-en-Provence"),
    ("+44 7911 123456", "Smith", "John", "john@example.co.uk", "en", "14/01/2027 16h15", "London"),
)


def sample_rows(model: int) -> Sequence[Sequence[str]]:
    if model not in MODELS:
        raise ValueError(f"no sample model {model} (models: 1, 2)")
    return _MODEL_1 if model == 1 else _MODEL_2


def sample_file(model: int, fmt: str) -> tuple[bytes, str, str]:
    """(content, file name, content type) of a sample; ValueError for an unknown model or format."""
    rows = sample_rows(model)
    name = f"gatewayd-modele-{model}.{fmt}"
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, delimiter=";", lineterminator="\r\n").writerows(rows)
        return ("\ufeff" + buf.getvalue()).encode("utf-8"), name, "text/csv; charset=utf-8"
    if fmt == "xlsx":
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Contacts")
        for row in rows:
            ws.append(list(row))  # text cells: Excel keeps the 0 of 06 and the spaces
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue(), name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    raise ValueError(f"no sample format {fmt!r} (formats: csv, xlsx)")

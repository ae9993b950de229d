"""Import analysis (pure): header detection, column mapping, per-row classification (numbers: numbers.py).

A mapping is one target per column: "mobile", "last_name", "first_name", "email", "language",
"field:<name>" (a custom field, or a template variable for campaign files) or "ignore".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from gatewayd.contacts.numbers import check_number
from gatewayd.problems import Problem, coded

BUILTIN_TARGETS = ("mobile", "last_name", "first_name", "email", "language")
# Columns of our own contacts export: group names and the opt-in record (never custom fields).
RECORD_TARGETS = ("groups", "optin_source", "optin_at", "optin_statement", "optin_by")
MAX_CUSTOM_FIELDS = 20
REPORT_LIMIT = 200  # invalid lines / repairs listed one by one in a report; the rest are counted

# Folded header (lower case, no accents, letters and digits only) -> target; order = preference.
_ALIASES: dict[str, tuple[str, ...]] = {
    "mobile": ("mobile", "portable", "telportable", "telephoneportable", "numeroportable", "numeromobile",
               "telmobile", "gsm", "cell", "cellphone", "mobilephone", "mobilenumber", "msisdn",
               "telephone", "tel", "phone", "phonenumber", "numerodetelephone", "numero", "number", "numtel"),
    "last_name": ("nom", "nomdefamille", "lastname", "surname", "familyname", "name", "nomcomplet", "fullname"),
    "first_name": ("prenom", "firstname", "givenname", "forename"),
    "email": ("email", "mail", "courriel", "adressemail", "adresseemail", "emailaddress", "adressecourriel"),
    "language": ("langue", "language", "lang", "langage", "locale", "idioma"),
    "groups": ("groups", "groupes", "group", "groupe"),
    "optin_source": ("optinsource", "sourceoptin"),
    "optin_at": ("optinat", "dateoptin"),
    "optin_statement": ("optinstatement",),
    "optin_by": ("optinby",),
}
_LANGUAGES = {"fr": "fr", "fra": "fr", "fre": "fr", "francais": "fr", "french": "fr", "frfr": "fr",
              "en": "en", "eng": "en", "anglais": "en", "english": "en", "engb": "en", "enus": "en"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NAME_OK = re.compile(r"[^\W\d]\w{0,39}")


def fold(text: str) -> str:
    """Lower case, accents removed, letters and digits only ('Téléphone portable' -> 'telephoneportable')."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c))


def field_slug(header: str) -> str:
    """A header as a custom field / template variable name ('Code postal' -> 'code_postal')."""
    decomposed = unicodedata.normalize("NFKD", header.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    slug = re.sub(r"\W+", "_", plain).strip("_")[:40]
    if not slug or not _NAME_OK.fullmatch(slug):
        slug = ("f_" + slug)[:40] if slug else ""
    return slug


def valid_field_name(name: str) -> bool:
    return bool(_NAME_OK.fullmatch(name)) and name.lower() not in BUILTIN_TARGETS + RECORD_TARGETS


@lru_cache(maxsize=256)
def normalise_language(raw: str) -> str | None:
    return _LANGUAGES.get(fold(raw))


def looks_like_header(cells: Sequence[str], region: str) -> bool:
    """A header row has a known column name, or text in every cell and no phone number."""
    filled = [c for c in cells if c.strip()]
    if not filled:
        return False
    if any(check_number(c, region).e164 for c in filled if sum(ch.isdigit() for ch in c) >= 6):
        return False
    known = {a for aliases in _ALIASES.values() for a in aliases}
    return any(fold(c) in known for c in filled) or all(not any(ch.isdigit() for ch in c) for c in filled)


@dataclass(frozen=True)
class Proposal:
    mapping: tuple[str, ...]
    beyond_limit: tuple[str, ...]  # headers that would have been custom fields past the limit


def propose_mapping(headers: Sequence[str], existing_fields: Sequence[str],
                    max_fields: int = MAX_CUSTOM_FIELDS) -> Proposal:
    """Map headers to targets: known aliases first (best alias wins each target), then custom fields."""
    folded = [fold(h) for h in headers]
    mapping: list[str | None] = [None] * len(headers)
    for target, aliases in _ALIASES.items():
        best: tuple[int, int] | None = None
        for col, name in enumerate(folded):
            if mapping[col] is None and name in aliases:
                rank = aliases.index(name)
                if best is None or rank < best[0]:
                    best = (rank, col)
        if best is not None:
            mapping[best[1]] = target
    known = {f.lower(): f for f in existing_fields}
    used = len(known)
    beyond: list[str] = []
    for col, header in enumerate(headers):
        if mapping[col] is not None:
            continue
        slug = field_slug(header)
        if not header.strip() or not slug:
            mapping[col] = "ignore"
        elif slug.lower() in known:
            mapping[col] = f"field:{known[slug.lower()]}"
        elif used < max_fields:
            mapping[col] = f"field:{slug}"
            known[slug.lower()] = slug
            used += 1
        else:
            mapping[col] = "ignore"
            beyond.append(header)
    if "mobile" not in mapping and len(headers) == 1:
        mapping[0] = "mobile"
    return Proposal(tuple(m or "ignore" for m in mapping), tuple(beyond))


def validate_mapping(mapping: Sequence[str], columns: int) -> list[Problem]:
    """Problems with a user-chosen mapping (empty list when it is usable), about the field "mapping"."""
    problems = []
    if len(mapping) != columns:
        problems.append(Problem("mapping.entries", "mapping", {"entries": len(mapping), "columns": columns}))
    targets = [m for m in mapping if m != "ignore"]
    if targets.count("mobile") != 1:
        problems.append(Problem("mapping.one_mobile", "mapping"))
    for m in targets:
        if m.startswith("field:"):
            if not valid_field_name(m[6:]):
                problems.append(Problem("mapping.bad_field_name", "mapping", {"name": m[6:]}))
        elif m not in BUILTIN_TARGETS + RECORD_TARGETS:
            problems.append(Problem("mapping.unknown_target", "mapping", {"target": m}))
    dupes = {m for m in targets if targets.count(m) > 1}
    problems += [Problem("mapping.duplicate_target", "mapping", {"target": m}) for m in sorted(dupes)]
    return problems


@dataclass
class Analyzer:
    """Classifies data rows one by one and keeps the report's counters (not the rows)."""

    mapping: tuple[str, ...]
    region: str
    seen: dict[str, int] = field(default_factory=dict)  # e164 -> first line
    rows: int = 0
    valid: int = 0
    empty_rows: int = 0
    invalid: int = 0
    duplicates: int = 0
    repaired: int = 0
    invalid_lines: list[dict[str, object]] = field(default_factory=list)
    duplicate_lines: list[dict[str, object]] = field(default_factory=list)
    repairs: list[dict[str, object]] = field(default_factory=list)
    extra_cells: int = 0
    # Every rejected row as [line, reason (a problem as data), cells], for the caller to write out and
    # clear chunk by chunk.
    rejected: list[list[object]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.mobile_col = self.mapping.index("mobile")

    def feed(self, line: int, cells: list[str]) -> str | None:
        """The row's E.164 number when it is a new valid one, else None (counted as what it is)."""
        if not any(c.strip() for c in cells):
            self.empty_rows += 1
            return None
        self.rows += 1
        if len(cells) > len(self.mapping) and any(c.strip() for c in cells[len(self.mapping):]):
            self.extra_cells += 1
        raw = cells[self.mobile_col] if self.mobile_col < len(cells) else ""
        check = check_number(raw, self.region)
        if check.e164 is None:
            self.invalid += 1
            problem = check.problem or Problem("phone.not_a_number")
            data = {"code": problem.code, "params": problem.params}
            self.rejected.append([line, data, cells])
            if len(self.invalid_lines) < REPORT_LIMIT:
                # "reason" is the API's English; "problem" the code the console words.
                self.invalid_lines.append({"line": line, "value": raw[:40], "reason": problem.english(),
                                           "problem": data})
            return None
        first = self.seen.get(check.e164)
        if first is not None:
            self.duplicates += 1
            self.rejected.append([line, coded("import.duplicate_of", line=first), cells])
            if len(self.duplicate_lines) < REPORT_LIMIT:
                self.duplicate_lines.append({"line": line, "number": check.e164, "first_line": first})
            return None
        self.seen[check.e164] = line
        self.valid += 1
        if check.repairs:
            self.repaired += 1
            if len(self.repairs) < REPORT_LIMIT:
                self.repairs.append({"line": line, "value": raw[:40], "number": check.e164, "repair": check.repair,
                                     "repairs": list(check.repairs)})
        return check.e164

    def report(self) -> dict[str, object]:
        return {
            "rows": self.rows, "valid": self.valid, "empty_rows": self.empty_rows,
            "invalid": {"count": self.invalid, "lines": self.invalid_lines},
            "duplicates_in_file": {"count": self.duplicates, "lines": self.duplicate_lines},
            "repaired": {"count": self.repaired, "lines": self.repairs},
            "rows_with_extra_cells": self.extra_cells,
        }


def split_groups(cell: str) -> list[str]:
    """Group names of an exported 'groups' cell ('Clients, VIP')."""
    return [name.strip()[:100] for name in cell.split(",") if name.strip()]


def row_values(mapping: Sequence[str], cells: Sequence[str]) -> dict[str, str]:
    """target -> stripped cell text for one row (ignored columns and blank cells left out)."""
    out: dict[str, str] = {}
    for target, cell in zip(mapping, cells, strict=False):  # short rows lack trailing cells
        if target != "ignore" and target != "mobile":
            value = cell.strip()
            if value:
                out[target] = value
    return out


def clean_email(value: str) -> str:
    return value if _EMAIL.match(value) else ""

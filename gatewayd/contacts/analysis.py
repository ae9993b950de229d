"""Import analysis (pure): header detection, column mapping, number repair, per-row classification.

A mapping is one target per column: "mobile", "last_name", "first_name", "email", "language",
"field:<name>" (a custom field, or a template variable for campaign files) or "ignore".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers

from gatewayd.phone import InvalidNumber, normalise

BUILTIN_TARGETS = ("mobile", "last_name", "first_name", "email", "language")
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
}
_LANGUAGES = {"fr": "fr", "fra": "fr", "fre": "fr", "francais": "fr", "french": "fr", "frfr": "fr",
              "en": "en", "eng": "en", "anglais": "en", "english": "en", "engb": "en", "enus": "en"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SCIENTIFIC = re.compile(r"^(\d)(?:[.,](\d+))?[eE]\+?(\d+)$")
_PUNCT = str.maketrans("", "", " .-()/\u00a0\u202f\t'")
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
    return bool(_NAME_OK.fullmatch(name)) and name.lower() not in BUILTIN_TARGETS


@dataclass(frozen=True)
class NumberCheck:
    e164: str | None
    reason: str | None = None   # why it is invalid
    repair: str | None = None   # what was fixed, when a spreadsheet had mangled it


def check_number(raw: str, region: str) -> NumberCheck:
    """Normalise a cell to E.164, repairing what spreadsheets do to numbers when it is unambiguous."""
    text = raw.strip()
    if not text:
        return NumberCheck(None, "empty number")
    repair = None
    # Number-format damage is read before punctuation is dropped (the '.' of 6.01E8 matters).
    sci = _SCIENTIFIC.match(text)
    if sci:
        mantissa = sci.group(1) + (sci.group(2) or "")
        exponent = int(sci.group(3))
        # 6.01010101E8 is exact; 6.0101E8 has lost digits to the display format: refuse it.
        if len(mantissa) - 1 != exponent:
            return NumberCheck(None, f"{text} is in scientific notation and has lost digits")
        try:
            text = str(int(Decimal(f"{sci.group(1)}.{sci.group(2) or '0'}e{exponent}")))
        except InvalidOperation:
            return NumberCheck(None, "not a phone number")
        repair = "scientific notation"
    elif text.endswith((".0", ",0")) and text[:-2].isdigit():
        text, repair = text[:-2], "decimal '.0' removed"
    text = text.translate(_PUNCT)
    if not text:
        return NumberCheck(None, "not a phone number")
    fast = _fast_mobile(text, region)
    if fast is not None:
        return NumberCheck(fast, None, repair)
    if text.startswith("+") or text.startswith("00"):
        try:
            return NumberCheck(normalise(text, region), None, repair)
        except InvalidNumber as exc:
            return NumberCheck(None, str(exc))
    if not text.isdigit():
        return NumberCheck(None, "not a phone number")
    if text.startswith("0") or not _trunk_zero(region):
        try:
            return NumberCheck(normalise(text, region), None, repair)
        except InvalidNumber as exc:
            return NumberCheck(None, str(exc))
    # Digits without the region's leading 0: a lost 0, or a country code without its '+'.
    candidates: list[tuple[str, str]] = []
    first_reason = "not a valid number"
    plan = _mobile_plan(region)
    national = f"{plan.country_code}{text}" if plan else None
    for fixed, digits, why in (("0" + text, national, "leading 0 restored"),
                               ("+" + text, text, "'+' added before the country code")):
        fast = _fast_mobile(fixed, region)
        if fast is not None:
            candidates.append((fast, why))
            continue
        if digits is not None and not _possible_length(digits):
            continue  # no country has numbers of this length: skip libphonenumber's slow parse
        try:
            candidates.append((normalise(fixed, region), why))
        except InvalidNumber as exc:
            first_reason = first_reason if candidates else str(exc)
    if len(candidates) == 2 and candidates[0][0] != candidates[1][0]:
        return NumberCheck(None, f"ambiguous: could be {candidates[0][0]} or {candidates[1][0]}")
    if candidates:
        e164, why = candidates[0]
        return NumberCheck(e164, None, f"{repair}, {why}" if repair else why)
    return NumberCheck(None, first_reason)


@dataclass(frozen=True)
class _MobilePlan:
    country_code: str
    general: re.Pattern[str]
    general_lengths: frozenset[int]
    mobile: re.Pattern[str]
    mobile_lengths: frozenset[int]


@lru_cache(maxsize=64)
def _mobile_plan(region: str) -> _MobilePlan | None:
    """The region's metadata patterns, for regions whose national numbers are simply 0 + NSN."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    if meta is None or meta.national_prefix != "0" or meta.national_prefix_for_parsing not in (None, "0") \
            or meta.general_desc is None or meta.mobile is None or not meta.mobile.national_number_pattern \
            or not meta.general_desc.national_number_pattern:
        return None
    return _MobilePlan(str(meta.country_code), re.compile(meta.general_desc.national_number_pattern),
                       frozenset(meta.general_desc.possible_length or ()),
                       re.compile(meta.mobile.national_number_pattern),
                       frozenset(meta.mobile.possible_length or meta.general_desc.possible_length or ()))


def _fast_mobile(text: str, region: str) -> str | None:
    """E.164 for a plain mobile of the default region ('06…' or '+33 6…'), else None (use the full parser).

    Bulk imports are mostly such numbers and libphonenumber's parse costs ~25 µs each; matching
    the same metadata patterns directly gives the same answer for these shapes in a fraction."""
    plan = _mobile_plan(region)
    if plan is None or not text[1:].isdigit():
        return None
    if text[0] == "0" and text[1:2] != "0":
        nsn = text[1:]
    elif text[0] == "+" and text.startswith(plan.country_code, 1) and text[1 + len(plan.country_code):][:1] != "0":
        nsn = text[1 + len(plan.country_code):]
    else:
        return None
    if len(nsn) in plan.general_lengths and len(nsn) in plan.mobile_lengths \
            and plan.general.fullmatch(nsn) and plan.mobile.fullmatch(nsn):
        return f"+{plan.country_code}{nsn}"
    return None


@lru_cache(maxsize=1024)
def _lengths_for_code(code: int) -> frozenset[int]:
    lengths: set[int] = set()
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code, ()):
        meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if meta is not None and meta.general_desc is not None:
            lengths.update(meta.general_desc.possible_length or ())
    return frozenset(lengths)


def _possible_length(digits: str) -> bool:
    """Whether the international digits (no '+') could be a valid number: some country code starts them
    and leaves a national part of a length that country uses. A valid number always passes."""
    for n in (1, 2, 3):
        lengths = _lengths_for_code(int(digits[:n])) if len(digits) > n else frozenset()
        if len(digits) - n in lengths:
            return True
    return False


@lru_cache(maxsize=64)
def _trunk_zero(region: str) -> bool:
    """Whether national numbers of `region` start with a 0 trunk prefix (FR, GB, DE…; not US)."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region.upper())
    return bool(meta and meta.national_prefix == "0")


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


def validate_mapping(mapping: Sequence[str], columns: int) -> list[str]:
    """Problems with a user-chosen mapping (empty list when it is usable)."""
    problems = []
    if len(mapping) != columns:
        problems.append(f"the mapping has {len(mapping)} entries for {columns} columns")
    targets = [m for m in mapping if m != "ignore"]
    if targets.count("mobile") != 1:
        problems.append("exactly one column must be mapped to 'mobile'")
    for m in targets:
        if m.startswith("field:"):
            if not valid_field_name(m[6:]):
                problems.append(f"{m[6:]!r} is not a usable field name (letters, digits, _; not a built-in)")
        elif m not in BUILTIN_TARGETS:
            problems.append(f"unknown target {m!r}")
    dupes = {m for m in targets if targets.count(m) > 1}
    problems += [f"{m!r} is chosen for more than one column" for m in sorted(dupes)]
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
            if len(self.invalid_lines) < REPORT_LIMIT:
                self.invalid_lines.append({"line": line, "value": raw[:40], "reason": check.reason})
            return None
        first = self.seen.get(check.e164)
        if first is not None:
            self.duplicates += 1
            if len(self.duplicate_lines) < REPORT_LIMIT:
                self.duplicate_lines.append({"line": line, "number": check.e164, "first_line": first})
            return None
        self.seen[check.e164] = line
        self.valid += 1
        if check.repair:
            self.repaired += 1
            if len(self.repairs) < REPORT_LIMIT:
                self.repairs.append({"line": line, "value": raw[:40], "number": check.e164, "repair": check.repair})
        return check.e164

    def report(self) -> dict[str, object]:
        return {
            "rows": self.rows, "valid": self.valid, "empty_rows": self.empty_rows,
            "invalid": {"count": self.invalid, "lines": self.invalid_lines},
            "duplicates_in_file": {"count": self.duplicates, "lines": self.duplicate_lines},
            "repaired": {"count": self.repaired, "lines": self.repairs},
            "rows_with_extra_cells": self.extra_cells,
        }


def row_values(mapping: Sequence[str], cells: Sequence[str]) -> dict[str, str]:
    """target -> stripped cell text for one row (ignored columns and blank cells left out)."""
    out: dict[str, str] = {}
    for target, cell in zip(mapping, cells):
        if target != "ignore" and target != "mobile":
            value = cell.strip()
            if value:
                out[target] = value
    return out


def clean_email(value: str) -> str:
    return value if _EMAIL.match(value) else ""
